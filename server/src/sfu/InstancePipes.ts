import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { InstanceRelay, RelayMessage } from '../store/InstanceRelay.js';
import type { PipeLease, ProducerPipes } from './ProducerPipes.js';

export type InstancePipesOptions = {
  relay: InstanceRelay;
  /** The warm-pipe cache this process's own pipes use too. */
  pipes: ProducerPipes;
  /** Where this instance's pipe transports listen, and the address other instances reach them on. */
  listen: { ip: string; announcedAddress: string | undefined; portRange: { min: number; max: number } };
  /** A producer of this instance's users, and the router it lives on. */
  findProducer(id: string): { producer: types.Producer; router: types.Router } | undefined;
  logger: Logger;
  /** How long the producer's instance has to answer. */
  requestTimeoutMs?: number;
};

type Tuple = { ip: string; port: number; srtpParameters: types.SrtpParameters };

type Imported = {
  instance: string;
  transport: types.PipeTransport;
  producer: types.Producer | undefined;
  /** A pause state or end that arrived before the producer was made. */
  paused: boolean | undefined;
  ended: boolean;
};

type Exported = { importer: string; transport: types.PipeTransport; closedByImporter: boolean };

const REQUEST_TIMEOUT_MS = 5000;

/**
 * Media between instances: a producer of one instance's user made consumable on another
 * instance's router, over a pair of mediasoup pipe transports (SRTP on, RTX on) that the two
 * instances set up through their inboxes. The importing side asks (`pipeOpen`, with its own
 * transport's address and SRTP key); the producer's instance connects, consumes the producer and
 * answers with its transport's address and key and the RTP parameters; the importer connects and
 * produces the copy under the same id. Pauses (camera off, microphone muted) and the producer's
 * end follow as messages; an unused import is closed after the warm period and the producer's
 * instance is told.
 */
export class InstancePipes {
  readonly #options: InstancePipesOptions;
  /** By pipe id (the exporting transport's id). */
  readonly #imports = new Map<string, Imported>();
  readonly #exports = new Map<string, Exported>();

  constructor(options: InstancePipesOptions) {
    this.#options = options;
    options.relay.onMessage((message, from) => this.#onMessage(message, from));
  }

  /** The instances this one has pipes with. */
  instances(): Set<string> {
    const instances = new Set<string>();
    for (const imported of this.#imports.values()) instances.add(imported.instance);
    for (const exported of this.#exports.values()) instances.add(exported.importer);
    return instances;
  }

  /** Makes a producer of another instance consumable on `to` (shared and kept warm like local pipes). */
  acquire(instance: string, producerId: string, to: types.Router): Promise<PipeLease> {
    return this.#options.pipes.lease(`${instance}/${producerId}>${to.id}`, async () => {
      const { producer, transport } = await this.#import(instance, producerId, to);
      return { producer, close: () => transport.close() };
    });
  }

  /** Closes the pipes to and from an instance that died (nothing is sent to it). */
  dropInstance(instance: string): void {
    for (const imported of [...this.#imports.values()]) {
      if (imported.instance !== instance) continue;
      imported.ended = true;
      imported.transport.close();
    }
    for (const exported of [...this.#exports.values()]) {
      if (exported.importer !== instance) continue;
      exported.closedByImporter = true;
      exported.transport.close();
    }
  }

  /** Closes every pipe to and from other instances. */
  close(): void {
    for (const imported of [...this.#imports.values()]) imported.transport.close();
    for (const exported of [...this.#exports.values()]) exported.transport.close();
  }

  async #import(
    instance: string,
    producerId: string,
    to: types.Router,
  ): Promise<{ producer: types.Producer; transport: types.PipeTransport }> {
    const transport = await this.#createTransport(to);
    try {
      const reply = await this.#options.relay.request(
        instance,
        { type: 'pipeOpen', producerId, ...this.#tupleOf(transport) },
        this.#options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
        // Opened there after this side gave up: close it, or it sends media nobody reads.
        (late) => {
          if (typeof late.pipeId === 'string')
            void this.#options.relay.send(instance, { type: 'pipeClose', pipeId: late.pipeId });
        },
      );
      const opened = parseOpened(reply);
      const imported: Imported = { instance, transport, producer: undefined, paused: undefined, ended: false };
      this.#imports.set(opened.pipeId, imported);
      transport.observer.once('close', () => {
        this.#imports.delete(opened.pipeId);
        if (!imported.ended) void this.#options.relay.send(instance, { type: 'pipeClose', pipeId: opened.pipeId });
      });
      await transport.connect({ ip: opened.ip, port: opened.port, srtpParameters: opened.srtpParameters });
      const producer = await transport.produce({
        id: producerId,
        kind: opened.kind,
        rtpParameters: opened.rtpParameters,
        paused: imported.paused ?? opened.paused,
      });
      imported.producer = producer;
      if (imported.ended) transport.close();
      return { producer, transport };
    } catch (error) {
      transport.close();
      throw error;
    }
  }

  async #export(request: RelayMessage, importer: string): Promise<RelayMessage> {
    const producerId = String(request.producerId);
    const found = this.#options.findProducer(producerId);
    if (!found || found.producer.closed) throw new Error(`no producer ${producerId} here`);
    const transport = await this.#createTransport(found.router);
    const pipeId = transport.id;
    const exported: Exported = { importer, transport, closedByImporter: false };
    this.#exports.set(pipeId, exported);
    transport.observer.once('close', () => {
      this.#exports.delete(pipeId);
      if (!exported.closedByImporter) void this.#options.relay.send(importer, { type: 'pipeEnded', pipeId });
    });
    try {
      const tuple = parseTuple(request);
      await transport.connect(tuple);
      const consumer = await transport.consume({ producerId });
      consumer.on(
        'producerpause',
        () => void this.#options.relay.send(importer, { type: 'pipePaused', pipeId, paused: true }),
      );
      consumer.on(
        'producerresume',
        () => void this.#options.relay.send(importer, { type: 'pipePaused', pipeId, paused: false }),
      );
      consumer.observer.once('close', () => transport.close());
      return {
        type: 'pipeOpened',
        pipeId,
        ...this.#tupleOf(transport),
        kind: consumer.kind,
        rtpParameters: consumer.rtpParameters,
        paused: consumer.producerPaused,
      };
    } catch (error) {
      exported.closedByImporter = true;
      transport.close();
      throw error;
    }
  }

  #onMessage(message: RelayMessage, from: string): Promise<RelayMessage> | undefined {
    const pipeId = typeof message.pipeId === 'string' ? message.pipeId : '';
    switch (message.type) {
      case 'pipeOpen':
        return this.#export(message, from);
      case 'pipePaused': {
        const imported = this.#imports.get(pipeId);
        if (!imported || imported.instance !== from) return undefined;
        const paused = message.paused === true;
        imported.paused = paused;
        if (imported.producer) void (paused ? imported.producer.pause() : imported.producer.resume()).catch(() => {});
        return undefined;
      }
      case 'pipeEnded': {
        const imported = this.#imports.get(pipeId);
        if (!imported || imported.instance !== from) return undefined;
        imported.ended = true;
        // Its producer closes with it, and so do the consumers of it here.
        if (imported.producer) imported.transport.close();
        return undefined;
      }
      case 'pipeClose': {
        const exported = this.#exports.get(pipeId);
        if (!exported || exported.importer !== from) return undefined;
        exported.closedByImporter = true;
        exported.transport.close();
        return undefined;
      }
      default:
        return undefined;
    }
  }

  #createTransport(router: types.Router): Promise<types.PipeTransport> {
    const { ip, announcedAddress, portRange } = this.#options.listen;
    return router.createPipeTransport({
      listenInfo: { protocol: 'udp', ip, portRange, ...(announcedAddress ? { announcedAddress } : {}) },
      enableSrtp: true,
      enableRtx: true,
    });
  }

  #tupleOf(transport: types.PipeTransport): Tuple {
    const { announcedAddress } = this.#options.listen;
    const srtpParameters = transport.srtpParameters;
    if (!srtpParameters) throw new Error('pipe transport without SRTP parameters');
    return { ip: announcedAddress ?? transport.tuple.localAddress, port: transport.tuple.localPort, srtpParameters };
  }
}

function parseTuple(message: RelayMessage): Tuple {
  const { ip, port, srtpParameters } = message;
  if (typeof ip !== 'string' || typeof port !== 'number' || typeof srtpParameters !== 'object' || !srtpParameters) {
    throw new Error('pipe request without an address and SRTP parameters');
  }
  return { ip, port, srtpParameters: srtpParameters as types.SrtpParameters };
}

function parseOpened(message: RelayMessage): Tuple & {
  pipeId: string;
  kind: types.MediaKind;
  rtpParameters: types.RtpParameters;
  paused: boolean;
} {
  const { pipeId, kind, rtpParameters, paused } = message;
  if (message.type !== 'pipeOpened' || typeof pipeId !== 'string' || (kind !== 'audio' && kind !== 'video')) {
    throw new Error('unexpected answer to a pipe request');
  }
  return {
    ...parseTuple(message),
    pipeId,
    kind,
    rtpParameters: rtpParameters as types.RtpParameters,
    paused: paused === true,
  };
}
