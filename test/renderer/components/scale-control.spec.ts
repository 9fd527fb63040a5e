import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ScaleControl from '../../../renderer/src/features/generate/ScaleControl.svelte';

describe('ScaleControl', () => {
  it('offers a 0–20 slider and a numeric entry bound to the same value', () => {
    render(ScaleControl, { value: 4, onChange: () => undefined });
    const slider = screen.getByLabelText('Guidance scale slider') as HTMLInputElement;
    expect([slider.min, slider.max, slider.value]).toEqual(['0', '20', '4']);
    expect((screen.getByLabelText('Guidance scale') as HTMLInputElement).value).toBe('4');
  });

  it('reports slider moves and typed values, ignoring negative or empty entries', async () => {
    const onChange = vi.fn();
    render(ScaleControl, { value: 4, onChange });
    await fireEvent.input(screen.getByLabelText('Guidance scale slider'), { target: { value: '7.5' } });
    expect(onChange).toHaveBeenLastCalledWith(7.5);
    const entry = screen.getByLabelText('Guidance scale');
    await fireEvent.change(entry, { target: { value: '30' } });
    expect(onChange).toHaveBeenLastCalledWith(30);
    await fireEvent.change(entry, { target: { value: '-2' } });
    await fireEvent.change(entry, { target: { value: '' } });
    expect(onChange).toHaveBeenCalledTimes(2);
  });
});
