import type { types } from 'mediasoup';
import { describe, expect, it } from 'vitest';
import { RelayTimeoutError } from '../store/InstanceRelay.js';
import type { PipeLease } from './ProducerPipes.js';
import { RemoteMedia } from './RemoteMedia.js';

const router = { id: 'router-1' } as types.Router;
const lease = { producer: { id: 'p-video' }, release() {} } as unknown as PipeLease;

/** A RemoteMedia whose pipe requests meet `answers` in turn (an error, or a lease). */
function remoteWith(answers: Array<Error | PipeLease>) {
  let asked = 0;
  const media = new RemoteMedia(
    'other-instance',
    {
      acquire: async () => {
        const answer = answers[asked++];
        if (!answer || answer instanceof Error) throw answer ?? new Error('no more answers');
        return answer;
      },
    },
    () => {},
  );
  media.setProducers([{ id: 'p-video', kind: 'video' }]);
  return { media, asked: () => asked };
}

describe('RemoteMedia.bring', () => {
  it('asks a slow instance again, and gets the pipe', async () => {
    const slow = new RelayTimeoutError('did not answer pipeOpen within 5000 ms');
    const { media, asked } = remoteWith([slow, slow, lease]);
    await expect(media.bring('p-video', router)).resolves.toBe(lease);
    expect(asked()).toBe(3);
  });

  it('after three slow answers it gives up for now, but keeps the producer for the next sync', async () => {
    const slow = new RelayTimeoutError('did not answer');
    const { media, asked } = remoteWith([slow, slow, slow, lease]);
    await expect(media.bring('p-video', router)).rejects.toBeInstanceOf(RelayTimeoutError);
    expect(asked()).toBe(3);
    expect(media.producers.map(({ id }) => id)).toEqual(['p-video']);
    await expect(media.bring('p-video', router)).resolves.toBe(lease);
  });

  it('drops a producer their instance no longer has (until they announce it anew)', async () => {
    const { media, asked } = remoteWith([new Error('no producer p-video here'), lease]);
    await expect(media.bring('p-video', router)).rejects.toThrow('no producer');
    expect(asked()).toBe(1);
    expect(media.producers).toEqual([]);
  });
});
