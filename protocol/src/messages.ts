/**
 * The signaling protocol: one union of requests from the client, one union of messages from the
 * server. Every client message is a request with an `id`; the server answers each with a
 * `response` carrying the same id and the request's result, or with an `error` carrying the id
 * and an error code. Everything else the server sends is a notification.
 */
import { z } from 'zod';
import { ErrorCode } from './errors.js';
import {
  dtlsParametersSchema,
  entityId,
  iceParametersSchema,
  iceServerSchema,
  mediaKindSchema,
  rtpCapabilitiesSchema,
  rtpParametersSchema,
  transportInfoSchema,
} from './media.js';
import { matchProfileSchema, preferencesSchema, searchStageSchema, sharedSchema } from './profile.js';
import { banInfoSchema, deviceIdSchema, MAX_REPORT_TEXT, reportReasonSchema, rulesSchema } from './safety.js';
import { qualityClassSchema, qualityReportSchema, simulcastConfigSchema } from './simulcast.js';

/** Largest frame either side may send, in bytes. A browser's RTP capabilities fit in a quarter of it. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
/** Longest chat message, in characters. */
export const MAX_CHAT_LENGTH = 1000;
/** Chat messages kept per conversation (and replayed after a resume). */
export const MAX_CHAT_HISTORY = 200;

const requestId = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31);
const empty = {};

/** What a user is sending: camera and microphone, or text only. */
export const mediaModeSchema = z.enum(['video', 'text']);
export type MediaMode = z.infer<typeof mediaModeSchema>;

/** Why a user is in text mode; the other side shows a human sentence for each. */
export const textModeReasonSchema = z.enum(['no-camera', 'permission-denied', 'media-failed', 'unsupported']);
export type TextModeReason = z.infer<typeof textModeReasonSchema>;

function request<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.strictObject({ id: requestId, type: z.literal(type), ...shape });
}

/**
 * What only the browser can measure about the service as users feel it: the time from Start (or
 * Next) to the new partner's first decoded frame, once per conversation; and how each
 * reconnection (socket or media) ended and how long it took.
 */
export const experienceReportSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('call'),
    pairId: z.string().min(1).max(64),
    /** Start or Next → first decoded frame of the partner's video, ms. */
    firstFrameMs: z.number().int().min(0).max(120_000),
  }),
  z.strictObject({
    kind: z.literal('reconnection'),
    /** recovered: back with the same partner/media; gave-up: the client stopped trying (failed or fell back). */
    outcome: z.enum(['recovered', 'gave-up']),
    durationMs: z.number().int().min(0).max(600_000),
  }),
]);
export type ExperienceReport = z.infer<typeof experienceReportSchema>;

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** Opens (or, with a token, resumes) the session. Must be the first message on a socket. */
  request('hello', {
    resumeToken: z.string().min(1).max(512).optional(),
    /** The browser's random device id (kept in localStorage): blocks and bans follow it. */
    deviceId: deviceIdSchema.optional(),
  }),
  /** The visitor confirmed the rules (this version) and that they are 18 or older; `start` needs it. */
  request('acceptRules', { version: z.string().min(1).max(64) }),
  /** Whom the user would like to meet; applies to the next match (and to a search under way). */
  request('setPreferences', { preferences: preferencesSchema }),
  /** The device's RTP capabilities, needed before the server can create consumers for it. */
  request('setRtpCapabilities', { rtpCapabilities: rtpCapabilitiesSchema }),
  request('createTransport', { direction: z.enum(['send', 'recv']) }),
  request('connectTransport', { transportId: entityId, dtlsParameters: dtlsParametersSchema }),
  request('restartIce', { transportId: entityId }),
  request('produce', { transportId: entityId, kind: mediaKindSchema, rtpParameters: rtpParametersSchema }),
  request('closeProducer', { producerId: entityId }),
  /**
   * Microphone muted / camera off (or back on) without renegotiating: the server pauses or
   * resumes that producer and tells the partner, who shows a muted sign or a "camera off" picture.
   */
  request('setTrackEnabled', { kind: mediaKindSchema, enabled: z.boolean() }),
  request('resumeConsumer', { consumerId: entityId }),
  /** Joins the queue of users waiting for a partner. */
  request('start', empty),
  /** Leaves the current partner (who goes back to waiting) and waits for a new one. */
  request('next', empty),
  /** Leaves the queue or the current partner (who goes back to waiting). */
  request('stop', empty),
  /**
   * A chat line for the partner of pair `pairId`. `clientMessageId` makes a re-sent line count
   * once; a line for a conversation that has ended is refused rather than shown to someone else.
   */
  request('chat', {
    pairId: z.string().min(1).max(64),
    text: z.string().trim().min(1).max(MAX_CHAT_LENGTH),
    clientMessageId: z.string().min(1).max(64),
  }),
  /** The client switched between video and text; the partner is told. */
  request('setMediaMode', { mode: mediaModeSchema, reason: textModeReasonSchema.optional() }),
  /** Network measurements from the browser's `getStats()`. */
  request('qualityReport', { report: qualityReportSchema }),
  /**
   * Reports the current partner, or the last one shortly after the conversation ended. Also
   * blocks them, and moves the reporter on to someone new at once.
   */
  request('report', { reason: reportReasonSchema, text: z.string().trim().max(MAX_REPORT_TEXT).optional() }),
  /** Never meet the current (or last) partner again; moves the user on when in a conversation. */
  request('block', empty),
  /** How a call or a reconnection went for this user (service levels); bounded by the server to what it saw. */
  request('experience', { report: experienceReportSchema }),
  /** Liveness check: browsers cannot see WebSocket pings, so the client asks for an answer. */
  request('ping', empty),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type RequestType = ClientMessage['type'];
export type RequestOf<Type extends RequestType> = Extract<ClientMessage, { type: Type }>;
/** A request's fields other than `id` and `type`. */
export type ParamsOf<Type extends RequestType> = Omit<RequestOf<Type>, 'id' | 'type'>;

function notification<Type extends string, Shape extends z.ZodRawShape>(type: Type, shape: Shape) {
  return z.strictObject({ type: z.literal(type), ...shape });
}

/** A consumer of the partner's media, created paused: the client creates it locally, then sends `resumeConsumer`. */
const newConsumerSchema = notification('newConsumer', {
  consumerId: entityId,
  producerId: entityId,
  kind: mediaKindSchema,
  rtpParameters: rtpParametersSchema,
});

export const chatMessageSchema = z.strictObject({
  messageId: z.string().max(64),
  from: z.enum(['me', 'peer']),
  text: z.string().max(MAX_CHAT_LENGTH),
  /** Server time in ms since the epoch. */
  ts: z.number(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

/** Where a user is in the matching flow. */
export const phaseSchema = z.enum(['idle', 'waiting', 'paired']);
export type Phase = z.infer<typeof phaseSchema>;

export const peerInfoSchema = z.strictObject({
  media: mediaModeSchema,
  textReason: textModeReasonSchema.optional(),
  /** False while the partner's socket is down and the server holds the pair for them. */
  connected: z.boolean(),
  /** The partner muted their microphone. */
  micMuted: z.boolean().optional(),
  /** The partner turned their camera off (show a placeholder, not the last frame). */
  cameraOff: z.boolean().optional(),
});
export type PeerInfo = z.infer<typeof peerInfoSchema>;

/** Everything a client needs to rebuild its view after a resume. */
export const sessionSnapshotSchema = z.strictObject({
  phase: phaseSchema,
  pairId: z.string().max(64).nullable(),
  peer: peerInfoSchema.nullable(),
  chat: z.array(chatMessageSchema).max(MAX_CHAT_HISTORY),
  /** Server-side transports still alive for this session; the client ICE-restarts them if it still has them. */
  transports: z.strictObject({ send: entityId.nullable(), recv: entityId.nullable() }),
  /** This session's producers still alive; the client produces again what is missing. */
  producers: z.array(z.strictObject({ producerId: entityId, kind: mediaKindSchema })).max(4),
  /** Consumers of the partner's media; the client keeps those it has and creates the others. */
  consumers: z.array(newConsumerSchema).max(4),
});
export type SessionSnapshot = z.infer<typeof sessionSnapshotSchema>;

export const helloResultSchema = z.strictObject({
  sessionId: z.string().max(64),
  /** Present this on a new socket to get this session back; it changes on every hello. */
  resumeToken: z.string().max(512),
  resumed: z.boolean(),
  routerRtpCapabilities: rtpCapabilitiesSchema,
  iceServers: z.array(iceServerSchema).max(8),
  iceTransportPolicy: z.enum(['all', 'relay']),
  simulcast: simulcastConfigSchema,
  qualityReportIntervalMs: z.number().int().positive(),
  snapshot: sessionSnapshotSchema,
  /** The site's rules and whether this session has accepted them. */
  rules: rulesSchema,
  rulesAccepted: z.boolean(),
  /** A ban in force for this device or address (the page shows why and for how long). */
  ban: banInfoSchema.nullable(),
  /** The user's matching profile as the server has it (country from the address). */
  profile: matchProfileSchema,
});
export type HelloResult = z.infer<typeof helloResultSchema>;

const emptyResult = z.strictObject({});

const resultSchemaMap = {
  hello: helloResultSchema,
  acceptRules: emptyResult,
  setPreferences: z.strictObject({ profile: matchProfileSchema }),
  setRtpCapabilities: emptyResult,
  createTransport: transportInfoSchema,
  connectTransport: emptyResult,
  restartIce: z.strictObject({ iceParameters: iceParametersSchema }),
  produce: z.strictObject({ producerId: entityId }),
  closeProducer: emptyResult,
  setTrackEnabled: emptyResult,
  resumeConsumer: emptyResult,
  start: emptyResult,
  next: emptyResult,
  stop: emptyResult,
  chat: z.strictObject({ message: chatMessageSchema }),
  setMediaMode: emptyResult,
  qualityReport: emptyResult,
  report: emptyResult,
  block: emptyResult,
  experience: emptyResult,
  ping: z.strictObject({ ts: z.number() }),
} satisfies Record<RequestType, z.ZodType>;
export type ResultOf<Type extends RequestType> = z.infer<(typeof resultSchemaMap)[Type]>;
/** The result schema of each request type; the client validates each response against it. */
export const resultSchemas: { [Type in RequestType]: z.ZodType<ResultOf<Type>> } = resultSchemaMap;

const errorCodeSchema = z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]);
export const protocolErrorSchema = z.strictObject({
  code: errorCodeSchema,
  message: z.string().max(1000),
  /** For rate limits and bans: how long until trying again makes sense, ms. */
  retryAfterMs: z.number().int().nonnegative().optional(),
});

/** Why a pair ended, from the receiver's point of view. */
export const unmatchReasonSchema = z.enum([
  /** You pressed Next. */
  'you-skipped',
  /** You reported your partner (they are told only that you skipped). */
  'you-reported',
  /** You blocked your partner (they are told only that you skipped). */
  'you-blocked',
  /** Your partner pressed Next (or reported or blocked you). */
  'peer-skipped',
  /** Your partner pressed Stop or closed the page. */
  'peer-left',
  /** Your partner's connection was lost for longer than the server holds a pair. */
  'peer-timeout',
  /** The media server handling the pair failed. */
  'server-error',
]);
export type UnmatchReason = z.infer<typeof unmatchReasonSchema>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  /** Success of the request with this id; `data` matches `resultSchemas[request.type]`. */
  notification('response', { id: requestId, data: z.unknown() }),
  /** Failure of the request with this id (null when the frame could not be read at all). */
  notification('error', { id: requestId.nullable(), error: protocolErrorSchema }),
  /**
   * The user is in the queue; `stage` says how wide the search is now (it widens with time);
   * `held`: no pairs can be made for now (the store the instances share is away), the place is kept.
   */
  notification('waiting', { stage: searchStageSchema.optional(), held: z.boolean().optional() }),
  /** A new partner, and what the two have in common. */
  notification('matched', { pairId: z.string().max(64), peer: peerInfoSchema, shared: sharedSchema.optional() }),
  notification('unmatched', { reason: unmatchReasonSchema }),
  newConsumerSchema,
  notification('consumerClosed', { consumerId: entityId }),
  /** The server lost this session's transports (a media worker failed): create new ones and produce again. */
  notification('mediaReset', empty),
  notification('peerConnection', { connected: z.boolean() }),
  notification('peerMedia', { media: mediaModeSchema, textReason: textModeReasonSchema.optional() }),
  /** The partner muted/unmuted their microphone or turned their camera off/on. */
  notification('peerTracks', { micMuted: z.boolean(), cameraOff: z.boolean() }),
  notification('chat', { message: chatMessageSchema }),
  /** Fresh short-lived TURN credentials, sent before the old ones expire. */
  notification('iceServers', { iceServers: z.array(iceServerSchema).max(8) }),
  /** The admin changed the layer table: publishers apply it with `setParameters`. */
  notification('simulcast', { simulcast: simulcastConfigSchema }),
  notification('quality', { self: qualityClassSchema, peer: qualityClassSchema }),
  /** This visitor was banned: the conversation (if any) ended and Start is refused until `until`. */
  notification('banned', { ban: banInfoSchema }),
  /** The server is going away; reconnect after the given delay. */
  notification('shutdown', { reconnectInMs: z.number().int().nonnegative() }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type NotificationType = Exclude<ServerMessage['type'], 'response' | 'error'>;
export type Notification = Extract<ServerMessage, { type: NotificationType }>;
export type NotificationOf<Type extends NotificationType> = Extract<ServerMessage, { type: Type }>;
