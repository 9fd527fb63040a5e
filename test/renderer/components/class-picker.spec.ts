import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ClassPicker from '../../../renderer/src/features/generate/ClassPicker.svelte';
import { buildClassIndex } from '../../../common/models/class-search';

const index = buildClassIndex(
  ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  [['tee'], ['pants'], ['sweater'], [], ['jacket'], [], [], ['trainer'], ['handbag'], ['boot']],
);

describe('ClassPicker', () => {
  it('narrows the list as the user types and marks the chosen class', async () => {
    render(ClassPicker, { index, selected: 7, onSelect: () => undefined });
    expect(screen.getAllByRole('option')).toHaveLength(10);
    expect(screen.getByRole('option', { selected: true }).textContent).toContain('Sneaker');
    await fireEvent.input(screen.getByLabelText('Search classes'), { target: { value: 'trainer' } });
    const options = screen.getAllByRole('option');
    expect(options).toHaveLength(1);
    expect(options[0]!.textContent).toContain('Sneaker');
    expect(options[0]!.textContent).toContain('trainer');
  });

  it('chooses a class by click, and the best match as the user types', async () => {
    const onSelect = vi.fn();
    render(ClassPicker, { index, selected: 0, onSelect });
    await fireEvent.click(screen.getByText('Coat'));
    expect(onSelect).toHaveBeenLastCalledWith(4);
    const search = screen.getByLabelText('Search classes');
    await fireEvent.input(search, { target: { value: 'dress' } });
    expect(onSelect).toHaveBeenLastCalledWith(3);
    await fireEvent.input(search, { target: { value: 'boot' } });
    expect(onSelect).toHaveBeenLastCalledWith(9);
    await fireEvent.keyDown(search, { key: 'Enter' });
    expect(onSelect).toHaveBeenLastCalledWith(9);
  });

  it('moves the chosen class with the arrow keys and names it as the active option', async () => {
    const onSelect = vi.fn();
    render(ClassPicker, { index, selected: 0, onSelect });
    const search = screen.getByLabelText('Search classes');
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    expect(onSelect).toHaveBeenLastCalledWith(1);
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    expect(onSelect).toHaveBeenLastCalledWith(2);
    expect(search.getAttribute('aria-activedescendant')).toBe('class-option-2');
    await fireEvent.keyDown(search, { key: 'ArrowUp' });
    expect(onSelect).toHaveBeenLastCalledWith(1);
    await fireEvent.keyDown(search, { key: 'End' });
    expect(onSelect).toHaveBeenLastCalledWith(9);
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    expect(onSelect).toHaveBeenLastCalledWith(9);
  });

  it('keeps the chosen class when nothing matches what was typed', async () => {
    const onSelect = vi.fn();
    render(ClassPicker, { index, selected: 3, onSelect });
    await fireEvent.input(screen.getByLabelText('Search classes'), { target: { value: 'zebra' } });
    expect(onSelect).not.toHaveBeenCalled();
    expect(screen.getByText(/the class stays Dress/)).toBeTruthy();
  });

  it('says so when nothing matches', async () => {
    render(ClassPicker, { index, selected: 0, onSelect: () => undefined });
    await fireEvent.input(screen.getByLabelText('Search classes'), { target: { value: 'zebra' } });
    expect(screen.getByText(/No class matches/)).toBeTruthy();
  });
});
