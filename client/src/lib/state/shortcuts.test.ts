import { describe, expect, it } from 'vitest';
import { type KeyInput, shortcutFor } from './shortcuts.js';

const press = (key: string, extra: Partial<KeyInput> = {}): KeyInput => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  target: { tagName: 'BODY' } as unknown as EventTarget,
  ...extra,
});
const closed = { dialogOpen: false };
const field = (tagName: string, type?: string) => ({ tagName, type }) as unknown as EventTarget;

describe('shortcutFor()', () => {
  it('maps Esc to next, M to mute and V to camera (either case)', () => {
    expect(shortcutFor(press('Escape'), closed)).toBe('next');
    expect(shortcutFor(press('m'), closed)).toBe('mute');
    expect(shortcutFor(press('M'), closed)).toBe('mute');
    expect(shortcutFor(press('v'), closed)).toBe('camera');
    expect(shortcutFor(press('x'), closed)).toBeNull();
  });

  it('leaves letters alone while the user types', () => {
    expect(shortcutFor(press('m', { target: field('INPUT') }), closed)).toBeNull();
    expect(shortcutFor(press('v', { target: field('TEXTAREA') }), closed)).toBeNull();
    expect(
      shortcutFor(press('m', { target: { isContentEditable: true } as unknown as EventTarget }), closed),
    ).toBeNull();
  });

  it('still skips with Esc from the chat field', () => {
    expect(shortcutFor(press('Escape', { target: field('INPUT') }), closed)).toBe('next');
  });

  it('works on a focused checkbox or button', () => {
    expect(shortcutFor(press('m', { target: field('INPUT', 'checkbox') }), closed)).toBe('mute');
    expect(shortcutFor(press('v', { target: field('BUTTON') }), closed)).toBe('camera');
  });

  it('ignores browser shortcuts, held keys and keys meant for an open dialog', () => {
    expect(shortcutFor(press('m', { ctrlKey: true }), closed)).toBeNull();
    expect(shortcutFor(press('v', { metaKey: true }), closed)).toBeNull();
    expect(shortcutFor(press('m', { repeat: true }), closed)).toBeNull();
    expect(shortcutFor(press('Escape'), { dialogOpen: true })).toBeNull();
  });
});
