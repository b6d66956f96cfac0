/** What a key press asks for on the call page. */
export type ShortcutAction = 'next' | 'mute' | 'camera';

/** The parts of a KeyboardEvent the shortcuts look at. */
export type KeyInput = {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  repeat?: boolean;
  target: EventTarget | null;
};

/** True for fields where letters are text, not commands. */
function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof target !== 'object') return false;
  const element = target as { tagName?: string; isContentEditable?: boolean; type?: string };
  if (element.isContentEditable) return true;
  const tag = element.tagName?.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  // Checkboxes and buttons take no text: M and V still work there.
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color', 'file'].includes(element.type ?? 'text');
}

/**
 * Esc: next stranger (also while typing a message, as before); M: mute; V: camera — not while
 * typing, with a modifier (browser shortcuts), or while a dialog (rules, report) is open.
 */
export function shortcutFor(event: KeyInput, context: { dialogOpen: boolean }): ShortcutAction | null {
  if (context.dialogOpen || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return null;
  if (event.key === 'Escape') return 'next';
  if (isTyping(event.target)) return null;
  const key = event.key.toLowerCase();
  if (key === 'm') return 'mute';
  if (key === 'v') return 'camera';
  return null;
}
