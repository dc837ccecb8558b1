/* SPDX-License-Identifier: MIT */
/*
 * guestmem-vhost-blk's counters on one line: the transport's (messages,
 * IOTLB, mapping cache) and the device's (requests, errors, per queue).
 */
#include <stdio.h>
#include <unistd.h>

#include "blk_cli.h"

/* Append "key=value" to @buf (of @size, @len used); returns the new length. */
static size_t put_kv(char *buf, size_t size, size_t len, const char *key, uint64_t v)
{
    int n;

    if (len >= size)
        return len;
    n = snprintf(buf + len, size - len, " %s=%llu", key, (unsigned long long)v);
    return n < 0 ? len : len + (size_t)n;
}

/* Format the counters of @dev and @b after @prefix, as one line. */
static size_t format_stats(char *buf, size_t size, const char *prefix, gm_vhost_dev *dev,
                           const blk_device *b)
{
    gm_vhost_stats st;
    size_t len;
    int n = snprintf(buf, size, "guestmem-vhost-blk: %s:", prefix);

    gm_vhost_dev_get_stats(dev, &st);
    len = n < 0 ? 0 : (size_t)n;
    len = put_kv(buf, size, len, "messages", st.messages);
    len = put_kv(buf, size, len, "requests", st.requests);
    len = put_kv(buf, size, len, "resubmitted", st.resubmitted);
    len = put_kv(buf, size, len, "notifications", st.notifications);
    len = put_kv(buf, size, len, "iotlb_misses", st.iotlb_misses);
    len = put_kv(buf, size, len, "iotlb_prefetched", st.iotlb_prefetched);
    len = put_kv(buf, size, len, "iotlb_unsent", st.iotlb_unsent);
    len = put_kv(buf, size, len, "iotlb_updates", st.iotlb_updates);
    len = put_kv(buf, size, len, "iotlb_invalidations", st.iotlb_invalidations);
    len = put_kv(buf, size, len, "iotlb_invalidation_msgs", st.iotlb_invalidation_msgs);
    len = put_kv(buf, size, len, "iotlb_timeouts", st.iotlb_timeouts);
    len = put_kv(buf, size, len, "iotlb_lookups", st.iotlb_lookups);
    len = put_kv(buf, size, len, "iotlb_lookup_hits", st.iotlb_lookup_hits);
    len = put_kv(buf, size, len, "iotlb_cache_hits", st.iotlb_cache_hits);
    len = put_kv(buf, size, len, "iotlb_cache_flushes", st.iotlb_cache_flushes);
    len = put_kv(buf, size, len, "map_hits", st.map_hits);
    len = put_kv(buf, size, len, "map_misses", st.map_misses);
    len = put_kv(buf, size, len, "map_unmaps", st.map_unmaps);
    len = put_kv(buf, size, len, "map_bytes", st.map_bytes);
    len = put_kv(buf, size, len, "log_pages", st.log_pages);
    len = put_kv(buf, size, len, "device_requests", __atomic_load_n(&b->requests, __ATOMIC_RELAXED));
    len = put_kv(buf, size, len, "device_errors", __atomic_load_n(&b->errors, __ATOMIC_RELAXED));
    for (unsigned int i = 0; i < b->num_queues && i < BLK_MAX_QUEUES; i++) {
        char key[24];

        snprintf(key, sizeof(key), "q%u_requests", i);
        len = put_kv(buf, size, len, key, __atomic_load_n(&b->queue_requests[i], __ATOMIC_RELAXED));
    }
    if (len >= size - 1)
        len = size - 2;
    buf[len++] = '\n';
    buf[len] = 0;
    return len;
}

void blk_stats_write(const char *prefix, gm_vhost_dev *dev, const blk_device *b)
{
    char buf[2048];
    size_t len = format_stats(buf, sizeof(buf), prefix, dev, b);

    if (write(STDERR_FILENO, buf, len) < 0)
        return;   /* nowhere to report it */
}
