import { describe, expect, it } from 'vitest';
import { ErrorCode } from './errors.js';
import { MAX_CHAT_LENGTH, MAX_MESSAGE_BYTES } from './messages.js';
import { parseClientMessage, parseResult, parseServerMessage } from './parse.js';
import { defaultSimulcastConfig, simulcastConfigSchema } from './simulcast.js';

describe('parseClientMessage()', () => {
  it('accepts a valid request', () => {
    const result = parseClientMessage(JSON.stringify({ id: 1, type: 'start' }));
    expect(result).toEqual({ ok: true, message: { id: 1, type: 'start' } });
  });

  it('refuses invalid JSON with bad-json and no id', () => {
    expect(parseClientMessage('{nope')).toMatchObject({ ok: false, code: ErrorCode.BadJson, id: null });
  });

  it('refuses an oversized frame before parsing it', () => {
    const frame = JSON.stringify({ id: 1, type: 'chat', text: 'x'.repeat(MAX_MESSAGE_BYTES) });
    expect(parseClientMessage(frame)).toMatchObject({ ok: false, code: ErrorCode.MessageTooLarge });
  });

  it('refuses an unknown type and keeps the id for the error reply', () => {
    expect(parseClientMessage(JSON.stringify({ id: 7, type: 'launchMissiles' }))).toMatchObject({
      ok: false,
      code: ErrorCode.InvalidMessage,
      id: 7,
    });
  });

  it('refuses wrong field types with a message naming the field', () => {
    const result = parseClientMessage(JSON.stringify({ id: 2, type: 'createTransport', direction: 42 }));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toContain('direction');
  });

  it('refuses extra fields', () => {
    const result = parseClientMessage(JSON.stringify({ id: 3, type: 'start', sneaky: true }));
    expect(result).toMatchObject({ ok: false, code: ErrorCode.InvalidMessage });
  });

  it('refuses chat longer than the limit and empty chat', () => {
    const long = { id: 4, type: 'chat', pairId: 'p', clientMessageId: 'c', text: 'x'.repeat(MAX_CHAT_LENGTH + 1) };
    expect(parseClientMessage(JSON.stringify(long)).ok).toBe(false);
    const blank = { id: 5, type: 'chat', pairId: 'p', clientMessageId: 'c', text: '   ' };
    expect(parseClientMessage(JSON.stringify(blank)).ok).toBe(false);
  });

  it('refuses non-object JSON without an id', () => {
    expect(parseClientMessage('[1,2,3]')).toMatchObject({ ok: false, id: null, code: ErrorCode.InvalidMessage });
    expect(parseClientMessage('null')).toMatchObject({ ok: false, id: null });
  });

  it('does not trust a malformed id', () => {
    expect(parseClientMessage(JSON.stringify({ id: -1, type: 'start' }))).toMatchObject({ ok: false, id: null });
    expect(parseClientMessage(JSON.stringify({ id: '1', type: 'start' }))).toMatchObject({ ok: false, id: null });
  });

  it('validates nested mediasoup parameters', () => {
    const bad = {
      id: 6,
      type: 'connectTransport',
      transportId: 't',
      dtlsParameters: { fingerprints: [{ algorithm: 'md5', value: 'x' }] },
    };
    expect(parseClientMessage(JSON.stringify(bad)).ok).toBe(false);
  });
});

describe('parseServerMessage()', () => {
  it('reads a notification', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'waiting' }))).toEqual({ type: 'waiting' });
  });

  it('returns null for something outside the protocol', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'surprise' }))).toBeNull();
    expect(parseServerMessage('not json')).toBeNull();
  });
});

describe('parseResult()', () => {
  it('validates the data against the request type', () => {
    expect(parseResult('ping', { ts: 5 })).toEqual({ ts: 5 });
    expect(() => parseResult('produce', { producerId: 42 })).toThrow();
  });
});

describe('simulcastConfigSchema', () => {
  it('accepts the defaults', () => {
    expect(simulcastConfigSchema.safeParse(defaultSimulcastConfig).success).toBe(true);
  });

  it('refuses bitrates that do not increase from layer to layer', () => {
    const config = structuredClone(defaultSimulcastConfig);
    config.layers[2].maxBitrate = config.layers[1].maxBitrate;
    const result = simulcastConfigSchema.safeParse(config);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['layers', 2, 'maxBitrate']);
  });

  it('refuses a table with every layer off', () => {
    const config = structuredClone(defaultSimulcastConfig);
    for (const layer of config.layers) layer.active = false;
    expect(simulcastConfigSchema.safeParse(config).success).toBe(false);
  });

  it('refuses a transport cap below the active layers', () => {
    const config = structuredClone(defaultSimulcastConfig);
    config.transport.maxIncomingBitrate = 500_000;
    expect(simulcastConfigSchema.safeParse(config).success).toBe(false);
  });

  it('refuses a layer larger than the one above it', () => {
    const config = structuredClone(defaultSimulcastConfig);
    config.layers[1].scaleResolutionDownBy = 8;
    expect(simulcastConfigSchema.safeParse(config).success).toBe(false);
  });
});
