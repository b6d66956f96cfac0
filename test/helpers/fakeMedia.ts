import type { RtpParameters } from 'mediasoup-client/types';

/** The RTP parameters a browser sends for three VP8 simulcast layers (no packets need to flow). */
export function vp8SimulcastParameters(cname = 'test'): RtpParameters {
  return {
    mid: '0',
    codecs: [
      {
        mimeType: 'video/VP8',
        payloadType: 96,
        clockRate: 90000,
        rtcpFeedback: [
          { type: 'nack' },
          { type: 'nack', parameter: 'pli' },
          { type: 'ccm', parameter: 'fir' },
          { type: 'transport-cc' },
        ],
      },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
    ],
    headerExtensions: [
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 },
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id', id: 2 },
      { uri: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id', id: 3 },
      { uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 4 },
    ],
    encodings: [
      { rid: 'r0', scalabilityMode: 'L1T3', maxBitrate: 100_000 },
      { rid: 'r1', scalabilityMode: 'L1T3', maxBitrate: 300_000 },
      { rid: 'r2', scalabilityMode: 'L1T3', maxBitrate: 1_200_000 },
    ],
    rtcp: { cname, reducedSize: true },
  };
}

export function opusParameters(cname = 'test'): RtpParameters {
  return {
    mid: '1',
    codecs: [
      { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } },
    ],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
    encodings: [{ ssrc: 11111111 }],
    rtcp: { cname, reducedSize: true },
  };
}
