/** The settings an admin changes live that every instance applies. */
export type SharedSettingName = 'simulcast' | 'safety';

/**
 * How an instance learns that another one changed a shared setting (the value itself is in the
 * store: listeners re-read it). In one process nothing else changes them: the local channel is
 * silent. After a lost connection comes back every setting counts as changed, since an
 * announcement may have been missed meanwhile.
 */
export interface SettingsChannel {
  /** Tells the other instances that `name` changed (after the store has the new value). */
  announce(name: SharedSettingName): Promise<void>;
  /** `listener` runs when another instance changed `name`. */
  onChange(listener: (name: SharedSettingName) => void): void;
  close(): Promise<void>;
}

export const localSettingsChannel: SettingsChannel = {
  announce: async () => {},
  onChange: () => {},
  close: async () => {},
};
