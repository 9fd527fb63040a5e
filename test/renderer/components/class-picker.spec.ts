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

  it('chooses a class by click, and the first match by Enter', async () => {
    const onSelect = vi.fn();
    render(ClassPicker, { index, selected: 0, onSelect });
    await fireEvent.click(screen.getByText('Coat'));
    expect(onSelect).toHaveBeenLastCalledWith(4);
    const search = screen.getByLabelText('Search classes');
    await fireEvent.input(search, { target: { value: 'boot' } });
    await fireEvent.keyDown(search, { key: 'Enter' });
    expect(onSelect).toHaveBeenLastCalledWith(9);
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    await fireEvent.keyDown(search, { key: 'Enter' });
    expect(onSelect).toHaveBeenCalledTimes(3);
  });

  it('says so when nothing matches', async () => {
    render(ClassPicker, { index, selected: 0, onSelect: () => undefined });
    await fireEvent.input(screen.getByLabelText('Search classes'), { target: { value: 'zebra' } });
    expect(screen.getByText(/No class matches/)).toBeTruthy();
  });
});
