/**
 * Schemas for the mediasoup parameters that cross the WebSocket. Each one is declared as a
 * `z.ZodType` of mediasoup-client's own type, so that a drift between the two is a compile error
 * and nothing needs a cast. Bounds on lengths keep a hostile client from sending huge objects
 * that would still fit in one frame.
 */
import type {
  DtlsParameters,
  IceCandidate,
  IceParameters,
  MediaKind,
  RtpCapabilities,
  RtpParameters,
  SctpParameters,
  SctpStreamParameters,
} from 'mediasoup-client/types';
import { z } from 'zod';

const shortString = z.string().max(256);
const id = z.string().min(1).max(64);

/** An id minted by mediasoup or by us (uuid); bounded so it can be logged safely. */
export const entityId = id;

export const mediaKindSchema: z.ZodType<MediaKind> = z.enum(['audio', 'video']);

/** Codec parameters such as `profile-id` or `useinbandfec`: flat and primitive. */
const codecParameters = z
  .record(shortString, z.union([z.string().max(256), z.number(), z.boolean()]))
  .refine((record) => Object.keys(record).length <= 32, 'too many codec parameters');

const rtcpFeedback = z.strictObject({ type: shortString, parameter: shortString.optional() });

/** RTP header extensions both mediasoup and mediasoup-client know (mediasoup also has `toffset`, which browsers do not need). */
export const headerExtensionUriSchema = z.enum([
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension',
  'urn:3gpp:video-orientation',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
  'urn:mediasoup:params:rtp-hdrext:packet-id',
]);

const direction = z.enum(['sendrecv', 'sendonly', 'recvonly', 'inactive']);
const payloadType = z.number().int().min(0).max(127);
const clockRate = z.number().int().positive().max(1_000_000);
const channels = z.number().int().min(1).max(8);

export const rtpCapabilitiesSchema: z.ZodType<RtpCapabilities> = z.strictObject({
  codecs: z
    .array(
      z.strictObject({
        kind: mediaKindSchema,
        mimeType: shortString,
        preferredPayloadType: payloadType,
        clockRate,
        channels: channels.optional(),
        parameters: codecParameters.optional(),
        rtcpFeedback: z.array(rtcpFeedback).max(16).optional(),
      }),
    )
    .max(64)
    .optional(),
  headerExtensions: z
    .array(
      z.strictObject({
        kind: mediaKindSchema,
        uri: headerExtensionUriSchema,
        preferredId: z.number().int().min(1).max(255),
        preferredEncrypt: z.boolean().optional(),
        direction: direction.optional(),
      }),
    )
    .max(32)
    .optional(),
});

const priority = z.enum(['very-low', 'low', 'medium', 'high']);

export const rtpParametersSchema: z.ZodType<RtpParameters> = z.strictObject({
  mid: shortString.optional(),
  codecs: z
    .array(
      z.strictObject({
        mimeType: shortString,
        payloadType,
        clockRate,
        channels: channels.optional(),
        parameters: codecParameters.optional(),
        rtcpFeedback: z.array(rtcpFeedback).max(16).optional(),
      }),
    )
    .min(1)
    .max(16),
  headerExtensions: z
    .array(
      z.strictObject({
        uri: headerExtensionUriSchema,
        id: z.number().int().min(1).max(255),
        encrypt: z.boolean().optional(),
        parameters: codecParameters.optional(),
      }),
    )
    .max(32)
    .optional(),
  encodings: z
    .array(
      z.strictObject({
        active: z.boolean().optional(),
        ssrc: z.number().int().nonnegative().optional(),
        rid: shortString.optional(),
        codecPayloadType: payloadType.optional(),
        rtx: z.strictObject({ ssrc: z.number().int().nonnegative() }).optional(),
        dtx: z.boolean().optional(),
        scalabilityMode: shortString.optional(),
        scaleResolutionDownBy: z.number().min(1).optional(),
        maxBitrate: z.number().nonnegative().optional(),
        maxFramerate: z.number().nonnegative().optional(),
        adaptivePtime: z.boolean().optional(),
        priority: priority.optional(),
        networkPriority: priority.optional(),
      }),
    )
    .max(8)
    .optional(),
  rtcp: z
    .strictObject({
      cname: shortString.optional(),
      reducedSize: z.boolean().optional(),
      mux: z.boolean().optional(),
    })
    .optional(),
  msid: shortString.optional(),
});

export const dtlsParametersSchema: z.ZodType<DtlsParameters> = z.strictObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(
      z.strictObject({
        algorithm: z.enum(['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512']),
        value: shortString,
      }),
    )
    .min(1)
    .max(8),
});

export const iceParametersSchema: z.ZodType<IceParameters> = z.strictObject({
  usernameFragment: shortString,
  password: shortString,
  iceLite: z.boolean().optional(),
});

export const iceCandidateSchema: z.ZodType<IceCandidate> = z.strictObject({
  foundation: shortString,
  priority: z.number().int().nonnegative(),
  address: shortString,
  ip: shortString,
  protocol: z.enum(['udp', 'tcp']),
  port: z.number().int().min(0).max(65535),
  type: z.enum(['host', 'srflx', 'prflx', 'relay']),
  tcpType: z.enum(['active', 'passive', 'so']).optional(),
});

const streamCount = z.number().int().min(1).max(65535);
const messageSize = z
  .number()
  .int()
  .positive()
  .max(1 << 30);

export const sctpParametersSchema: z.ZodType<SctpParameters> = z.strictObject({
  port: z.number().int().min(0).max(65535),
  maxSendMessageSize: messageSize,
  maxReceiveMessageSize: messageSize,
  OS: streamCount.optional(),
  MIS: streamCount.optional(),
  maxMessageSize: messageSize.optional(),
});

const sctpStreamParametersSchema: z.ZodType<SctpStreamParameters> = z.strictObject({
  streamId: z.number().int().min(0).max(65535),
  ordered: z.boolean().optional(),
  maxPacketLifeTime: z.number().int().nonnegative().optional(),
  maxRetransmits: z.number().int().nonnegative().optional(),
});

/**
 * A server data channel the client opens on its new receive transport at once. mediasoup-client
 * connects a transport (ICE, DTLS) only on its first consume; without this, a visitor's first
 * match would wait for that handshake before the partner's first frame. Nothing is ever sent on it.
 */
export const warmupChannelSchema = z.strictObject({
  id,
  dataProducerId: id,
  sctpStreamParameters: sctpStreamParametersSchema,
  label: shortString,
});
export type WarmupChannel = z.infer<typeof warmupChannelSchema>;

/**
 * What the server sends for a new WebRTC transport: mediasoup-client's `TransportOptions` core,
 * plus, for a receive transport, the channel that connects it before the first match.
 */
export const transportInfoSchema = z.strictObject({
  id,
  iceParameters: iceParametersSchema,
  iceCandidates: z.array(iceCandidateSchema).max(32),
  dtlsParameters: dtlsParametersSchema,
  sctpParameters: sctpParametersSchema.optional(),
  warmup: warmupChannelSchema.optional(),
});
export type TransportInfo = z.infer<typeof transportInfoSchema>;

/** An RTCIceServer as handed to the browser (TURN credentials are short-lived, minted per session). */
export const iceServerSchema = z.strictObject({
  urls: z.array(z.string().max(512)).min(1).max(8),
  username: z.string().max(256).optional(),
  credential: z.string().max(256).optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;
