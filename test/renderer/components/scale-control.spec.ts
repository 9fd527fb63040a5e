import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ScaleControl from '../../../renderer/src/features/generate/ScaleControl.svelte';

describe('ScaleControl', () => {
  it('offers a 0–20 slider and a box that shows the scale in use', () => {
    render(ScaleControl, { value: 4, text: '4', onSlide: () => undefined, onType: () => undefined });
    const slider = screen.getByLabelText('Guidance scale slider') as HTMLInputElement;
    expect([slider.min, slider.max, slider.value]).toEqual(['0', '20', '4']);
    expect((screen.getByLabelText('Guidance scale') as HTMLInputElement).value).toBe('4');
    expect(screen.getByTestId('scale-hint').textContent?.trim()).toBe('The slider reaches 20; type up to 100.');
  });

  it('reports slider moves as scales and every keystroke as text', async () => {
    const onSlide = vi.fn();
    const onType = vi.fn();
    render(ScaleControl, { value: 4, text: '4', onSlide, onType });
    await fireEvent.input(screen.getByLabelText('Guidance scale slider'), { target: { value: '7.5' } });
    expect(onSlide).toHaveBeenLastCalledWith(7.5);
    await fireEvent.input(screen.getByLabelText('Guidance scale'), { target: { value: '-5' } });
    expect(onType).toHaveBeenLastCalledWith('-5');
  });

  it('says why the slider stops at 20 when the scale in use is past it', () => {
    render(ScaleControl, { value: 30, text: '30', onSlide: () => undefined, onType: () => undefined });
    expect((screen.getByLabelText('Guidance scale slider') as HTMLInputElement).value).toBe('20');
    expect(screen.getByTestId('scale-hint').textContent).toContain("Scale 30: past the slider's end at 20");
  });

  it('shows the problem of the typed text and marks the box invalid', () => {
    const problem = 'The guidance scale must be from 0 to 100; -5 is out of range.';
    render(ScaleControl, { value: 4, text: '-5', problem, onSlide: () => undefined, onType: () => undefined });
    const box = screen.getByLabelText('Guidance scale') as HTMLInputElement;
    expect(box.value).toBe('-5');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByTestId('scale-hint').textContent?.trim()).toBe(problem);
  });
});
