import { defaultSimulcastConfig } from '@meetopia/protocol';
import { describe, expect, it } from 'vitest';
import { fromForm, toForm } from './AdminState.svelte.js';

describe('the layer form', () => {
  it('shows bitrates in kbps and gives back exactly the table it was made from', () => {
    const form = toForm(defaultSimulcastConfig);
    expect(form.layers.map((layer) => layer.maxKbps)).toEqual([100, 300, 1200]);
    expect(form.maxIncomingKbps).toBe(2000);
    expect(fromForm(form)).toEqual({ ok: true, config: defaultSimulcastConfig });
  });

  it('refuses a table the server would refuse, with the same sentence', () => {
    const form = toForm(defaultSimulcastConfig);
    const top = form.layers[2];
    if (top) top.maxKbps = 250;
    const result = fromForm(form);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(/layer 2 maxBitrate must be greater than layer 1's/);
  });

  it('reads numbers typed as text (inputs give strings when edited by hand)', () => {
    const form = toForm(defaultSimulcastConfig);
    const top = form.layers[2];
    if (top) top.maxKbps = '400' as unknown as number;
    const result = fromForm(form);
    expect(result.ok && result.config.layers[2].maxBitrate).toBe(400_000);
  });
});
