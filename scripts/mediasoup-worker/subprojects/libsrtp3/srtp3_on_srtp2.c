/*
 * Why this file exists: it implements the libsrtp 3 calls mediasoup 3.27 makes on top of
 * Debian's libsrtp 2, so the worker can be built offline without the libsrtp 3 sources
 * (see include/srtp.h). libsrtp 3 protects from an input buffer into a separate output
 * buffer with size_t lengths; libsrtp 2 transforms one buffer in place with an int length.
 * So each call copies the input into the output buffer (when they differ), checks the
 * output is large enough, and lets libsrtp 2 work in place there.
 */
#define MEETOPIA_SRTP3_ADAPTER_IMPLEMENTATION
#include "srtp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* libsrtp 2 adds a 4-byte SRTCP index (E flag + index) before the trailer. */
#define SRTCP_INDEX_LEN 4

struct meetopia_srtp3_policy {
    srtp2_policy_t v2;                /* what libsrtp 2's srtp_create() reads */
    uint8_t key[SRTP_MAX_KEY_LEN];    /* master key followed by master salt, as v2 wants */
    size_t key_len;
    size_t salt_len;
    srtp_profile_t profile;
    bool has_ssrc;
    bool has_profile;
    bool has_key;
};

srtp_err_status_t srtp_policy_create(srtp_policy_t *policy)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;

    struct meetopia_srtp3_policy *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return srtp_err_status_alloc_fail;

    p->v2.key = p->key;
    p->v2.next = NULL;
    *policy = p;

    return srtp_err_status_ok;
}

void srtp_policy_destroy(srtp_policy_t policy)
{
    if (policy == NULL)
        return;

    /* The key is secret material: wipe it before giving the memory back. */
    memset(policy->key, 0, sizeof(policy->key));
    free(policy);
}

srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;

    policy->v2.ssrc = ssrc;
    policy->has_ssrc = true;

    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;

    srtp_err_status_t err =
        srtp_crypto_policy_set_from_profile_for_rtp(&policy->v2.rtp, profile);
    if (err != srtp_err_status_ok)
        return err;

    err = srtp_crypto_policy_set_from_profile_for_rtcp(&policy->v2.rtcp, profile);
    if (err != srtp_err_status_ok)
        return err;

    policy->profile = profile;
    policy->has_profile = true;

    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_add_key(srtp_policy_t policy,
                                      const uint8_t *key,
                                      size_t key_len,
                                      const uint8_t *salt,
                                      size_t salt_len,
                                      const uint8_t *mki,
                                      size_t mki_len)
{
    (void)mki;

    /* libsrtp 2 would need its separate MKI API for these; mediasoup uses neither. */
    if (policy == NULL || key == NULL || policy->has_key || mki_len != 0)
        return srtp_err_status_bad_param;
    if (key_len == 0 || key_len > SRTP_MAX_KEY_LEN ||
        salt_len > SRTP_MAX_KEY_LEN - key_len || (salt_len > 0 && salt == NULL))
        return srtp_err_status_bad_param;

    memcpy(policy->key, key, key_len);
    if (salt_len > 0)
        memcpy(policy->key + key_len, salt, salt_len);

    policy->key_len = key_len;
    policy->salt_len = salt_len;
    policy->has_key = true;

    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
    if (policy == NULL)
        return srtp_err_status_bad_param;

    policy->v2.allow_repeat_tx = allow ? 1 : 0;

    return srtp_err_status_ok;
}

srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t window_size)
{
    /* The range libsrtp 2 accepts when it creates the stream. */
    if (policy == NULL || window_size < 64 || window_size >= 0x8000)
        return srtp_err_status_bad_param;

    policy->v2.window_size = (unsigned long)window_size;

    return srtp_err_status_ok;
}

srtp_err_status_t meetopia_srtp3_create(srtp_t *session, const srtp_policy_t policy)
{
    if (session == NULL || policy == NULL)
        return srtp_err_status_bad_param;
    if (!policy->has_ssrc || !policy->has_profile || !policy->has_key)
        return srtp_err_status_bad_param;

    /* libsrtp 2 reads as many key bytes as the cipher wants: make sure they were all given. */
    if (policy->key_len != srtp_profile_get_master_key_length(policy->profile) ||
        policy->salt_len != srtp_profile_get_master_salt_length(policy->profile))
        return srtp_err_status_bad_param;

    /* libsrtp 2 derives the session keys here; the policy is not referenced afterwards. */
    return srtp_create(session, &policy->v2);
}

srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
    return srtp_remove_stream(session, ssrc);
}

/* Copies `in` to `out` when they differ, after checking that `out` (of capacity *out_len)
 * can hold `in_len + growth` bytes and that libsrtp 2's int length cannot overflow. */
static srtp_err_status_t prepare_in_place(const uint8_t *in,
                                          size_t in_len,
                                          uint8_t *out,
                                          const size_t *out_len,
                                          size_t growth,
                                          int *v2_len)
{
    if (in == NULL || out == NULL || out_len == NULL)
        return srtp_err_status_bad_param;
    if (in_len > (size_t)INT_MAX - growth)
        return srtp_err_status_bad_param;
    if (*out_len < in_len + growth)
        return srtp_err_status_buffer_small;

    if (out != in)
        memmove(out, in, in_len);

    *v2_len = (int)in_len;

    return srtp_err_status_ok;
}

srtp_err_status_t meetopia_srtp3_protect(srtp_t ctx,
                                         const uint8_t *rtp,
                                         size_t rtp_len,
                                         uint8_t *srtp,
                                         size_t *srtp_len,
                                         size_t mki_index)
{
    /* Ignored, as libsrtp 3 does when the policy has no MKI (this adapter never has one). */
    (void)mki_index;

    int len = 0;
    srtp_err_status_t err =
        prepare_in_place(rtp, rtp_len, srtp, srtp_len, SRTP_MAX_TRAILER_LEN, &len);
    if (err != srtp_err_status_ok)
        return err;

    err = srtp_protect(ctx, srtp, &len);
    if (err != srtp_err_status_ok)
        return err;

    *srtp_len = (size_t)len;

    return srtp_err_status_ok;
}

srtp_err_status_t meetopia_srtp3_unprotect(srtp_t ctx,
                                           const uint8_t *srtp,
                                           size_t srtp_len,
                                           uint8_t *rtp,
                                           size_t *rtp_len)
{
    int len = 0;
    srtp_err_status_t err = prepare_in_place(srtp, srtp_len, rtp, rtp_len, 0, &len);
    if (err != srtp_err_status_ok)
        return err;

    err = srtp_unprotect(ctx, rtp, &len);
    if (err != srtp_err_status_ok)
        return err;

    *rtp_len = (size_t)len;

    return srtp_err_status_ok;
}

srtp_err_status_t meetopia_srtp3_protect_rtcp(srtp_t ctx,
                                              const uint8_t *rtcp,
                                              size_t rtcp_len,
                                              uint8_t *srtcp,
                                              size_t *srtcp_len,
                                              size_t mki_index)
{
    (void)mki_index;

    int len = 0;
    srtp_err_status_t err = prepare_in_place(
        rtcp, rtcp_len, srtcp, srtcp_len, SRTP_MAX_TRAILER_LEN + SRTCP_INDEX_LEN, &len);
    if (err != srtp_err_status_ok)
        return err;

    err = srtp_protect_rtcp(ctx, srtcp, &len);
    if (err != srtp_err_status_ok)
        return err;

    *srtcp_len = (size_t)len;

    return srtp_err_status_ok;
}

srtp_err_status_t meetopia_srtp3_unprotect_rtcp(srtp_t ctx,
                                                const uint8_t *srtcp,
                                                size_t srtcp_len,
                                                uint8_t *rtcp,
                                                size_t *rtcp_len)
{
    int len = 0;
    srtp_err_status_t err = prepare_in_place(srtcp, srtcp_len, rtcp, rtcp_len, 0, &len);
    if (err != srtp_err_status_ok)
        return err;

    err = srtp_unprotect_rtcp(ctx, rtcp, &len);
    if (err != srtp_err_status_ok)
        return err;

    *rtcp_len = (size_t)len;

    return srtp_err_status_ok;
}
