/*
 * Why this file exists: mediasoup 3.27 is written against the libsrtp 3 API (`#include
 * <srtp.h>`), but Debian bookworm only packages libsrtp 2. This header takes the place of
 * libsrtp 3's srtp.h in the offline worker build: it includes the system libsrtp 2 header,
 * moves aside the libsrtp 2 names that libsrtp 3 reuses with another meaning, and declares
 * the libsrtp 3 calls mediasoup makes. srtp3_on_srtp2.c implements them on libsrtp 2.
 *
 * Differences from libsrtp 3 that mediasoup does not hit: one master key per policy, no MKI,
 * no cryptex, no `srtp_policy_set_*` beyond the ones declared here.
 */
#ifndef MEETOPIA_SRTP3_ON_SRTP2_H
#define MEETOPIA_SRTP3_ON_SRTP2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libsrtp 2 names its policy struct `srtp_policy_t`; libsrtp 3 uses that name for an opaque
 * handle. Rename the libsrtp 2 struct while its header is read. */
#define srtp_policy_t srtp2_policy_t
#include <srtp2/srtp.h>
#undef srtp_policy_t

/* Error codes libsrtp 3 added after libsrtp 2's last one (srtp_err_status_pkt_idx_adv = 27). */
#define srtp_err_status_buffer_small ((srtp_err_status_t)28)
#define srtp_err_status_cryptex_err ((srtp_err_status_t)29)

#ifdef __cplusplus
extern "C" {
#endif

/* libsrtp 3's opaque policy handle. */
typedef struct meetopia_srtp3_policy *srtp_policy_t;

srtp_err_status_t srtp_policy_create(srtp_policy_t *policy);
void srtp_policy_destroy(srtp_policy_t policy);
srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc);
srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile);
srtp_err_status_t srtp_policy_add_key(srtp_policy_t policy,
                                      const uint8_t *key,
                                      size_t key_len,
                                      const uint8_t *salt,
                                      size_t salt_len,
                                      const uint8_t *mki,
                                      size_t mki_len);
srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow);
srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t window_size);

srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc);

/* These libsrtp 3 functions share their names with libsrtp 2 functions of another signature,
 * so they are declared under adapter names and the libsrtp 3 names are mapped onto them below
 * (except inside the adapter itself, which calls the libsrtp 2 ones). */
srtp_err_status_t meetopia_srtp3_create(srtp_t *session, const srtp_policy_t policy);
srtp_err_status_t meetopia_srtp3_protect(srtp_t ctx,
                                         const uint8_t *rtp,
                                         size_t rtp_len,
                                         uint8_t *srtp,
                                         size_t *srtp_len,
                                         size_t mki_index);
srtp_err_status_t meetopia_srtp3_unprotect(srtp_t ctx,
                                           const uint8_t *srtp,
                                           size_t srtp_len,
                                           uint8_t *rtp,
                                           size_t *rtp_len);
srtp_err_status_t meetopia_srtp3_protect_rtcp(srtp_t ctx,
                                              const uint8_t *rtcp,
                                              size_t rtcp_len,
                                              uint8_t *srtcp,
                                              size_t *srtcp_len,
                                              size_t mki_index);
srtp_err_status_t meetopia_srtp3_unprotect_rtcp(srtp_t ctx,
                                                const uint8_t *srtcp,
                                                size_t srtcp_len,
                                                uint8_t *rtcp,
                                                size_t *rtcp_len);

#ifdef __cplusplus
}
#endif

#ifndef MEETOPIA_SRTP3_ADAPTER_IMPLEMENTATION
#define srtp_create meetopia_srtp3_create
#define srtp_protect meetopia_srtp3_protect
#define srtp_unprotect meetopia_srtp3_unprotect
#define srtp_protect_rtcp meetopia_srtp3_protect_rtcp
#define srtp_unprotect_rtcp meetopia_srtp3_unprotect_rtcp
#endif

#endif
