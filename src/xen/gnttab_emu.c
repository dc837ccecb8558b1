/* SPDX-License-Identifier: MIT */
/*
 * An emulated Xen grant table (v1 ABI) shared between processes.
 *
 * Layout of the table memfd: a header, nr_entries grant_entry_v1 (exactly
 * Xen's 8-byte entries), then one 32-bit active count per entry (readers in
 * the low 16 bits, writers in the high 16 bits) kept by the backend.
 *
 * Rules (as the hypervisor applies them):
 * - the granter writes domid and frame, a write barrier, then the flags;
 * - mapping checks GTF_permit_access, the grantee domid, GTF_readonly for
 *   writable maps, and sets GTF_reading (and GTF_writing) with a CAS on the
 *   flags, so it can never race with a revocation;
 * - end of access is a CAS of the flags to 0 that fails while
 *   GTF_reading/GTF_writing are set: a mapped grant cannot be revoked;
 * - the frame is read once, after the flags were taken, and bounded by the
 *   guest's size: a hostile granter rewriting the entry can make the backend
 *   map the wrong (but always in-range) page of its own memory, never
 *   anything else.
 *
 * The header (entry count, guest frames, backend domid) lives in the memfd
 * the granter writes: each side reads it exactly once, at create or attach,
 * and keeps its own copy. Attach checks the entry count against the table
 * memfd's size and the guest frames against the guest fd's size, and maps
 * exactly the table it validated; whatever the granter stores into the
 * header afterwards changes nothing for the backend.
 *
 * Mapping is a real mmap of the granted frame of the guest memfd (read-only
 * for read-only maps) into a contiguous reservation; unmapping a munmap.
 * Pin/unpin of active counts is serialized by a process-local mutex: one
 * backend process per table (the granter needs no lock).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <guestmem/gnttab.h>

#define EMU_MAGIC 0x42415454544e4d47ull   /* "GMNTTTAB" */
#define EMU_PAGE (1u << GM_GRANT_PAGE_SHIFT)
#define EMU_MAX_ENTRIES (1u << 20)
#define EMU_MAX_MAP 1024u
#define EMU_HEADER 64u

typedef struct emu_header {
    uint64_t magic;
    uint32_t nr_entries;
    uint16_t backend_domid;
    uint16_t reserved;
    uint64_t guest_frames;
} emu_header;

typedef struct emu_mapping {
    struct emu_mapping *next;
    void *addr;
    unsigned int count;
    bool writable;
    gm_grant_ref refs[];
} emu_mapping;

/* nr_entries, guest_frames and backend_domid are private copies taken at
 * create or attach: never read from the shared header again. */
struct gm_gnttab_emu {
    int table_fd;
    int guest_fd;
    size_t table_size;            /* bytes mapped at table */
    void *table;
    gm_grant_entry_v1 *entries;
    uint32_t *active;
    uint32_t nr_entries;
    uint64_t guest_frames;
    gm_domid backend_domid;
    pthread_mutex_t lock;         /* active counts and the mapping list */
    emu_mapping *mappings;
};

static size_t table_bytes(uint32_t nr)
{
    return EMU_HEADER + (size_t)nr * (sizeof(gm_grant_entry_v1) + sizeof(uint32_t));
}

/* Map the table of @nr entries; the fds belong to the result from now on. */
static gm_gnttab_emu *emu_open(int table_fd, int guest_fd, uint32_t nr, uint64_t guest_frames,
                               gm_domid backend_domid)
{
    gm_gnttab_emu *gt = calloc(1, sizeof(*gt));
    void *p;

    if (!gt)
        return NULL;
    gt->table_size = table_bytes(nr);
    p = mmap(NULL, gt->table_size, PROT_READ | PROT_WRITE, MAP_SHARED, table_fd, 0);
    if (p == MAP_FAILED) {
        free(gt);
        return NULL;
    }
    gt->table_fd = table_fd;
    gt->guest_fd = guest_fd;
    gt->table = p;
    gt->entries = (gm_grant_entry_v1 *)((uint8_t *)p + EMU_HEADER);
    gt->active = (uint32_t *)(gt->entries + nr);
    gt->nr_entries = nr;
    gt->guest_frames = guest_frames;
    gt->backend_domid = backend_domid;
    pthread_mutex_init(&gt->lock, NULL);
    return gt;
}

static void close_both(int tfd, int gfd)
{
    int err = errno;

    if (tfd >= 0)
        close(tfd);
    if (gfd >= 0)
        close(gfd);
    errno = err;
}

gm_gnttab_emu *gm_gnttab_emu_create(unsigned int nr_entries, int guest_fd, uint64_t guest_size,
                                    gm_domid backend_domid)
{
    int tfd, gfd;
    gm_gnttab_emu *gt;
    emu_header *hdr;

    if (!nr_entries || nr_entries > EMU_MAX_ENTRIES || guest_size < EMU_PAGE) {
        errno = EINVAL;
        return NULL;
    }
    tfd = memfd_create("guestmem-gnttab", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    gfd = tfd >= 0 ? dup(guest_fd) : -1;
    /* Sealed at its size: a process that attached can never be made to
     * read past the end of the file (SIGBUS) by a truncation. */
    if (gfd < 0 || ftruncate(tfd, (off_t)table_bytes(nr_entries)) < 0 ||
        fcntl(tfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0 ||
        !(gt = emu_open(tfd, gfd, nr_entries, guest_size / EMU_PAGE, backend_domid))) {
        close_both(tfd, gfd);
        return NULL;
    }
    hdr = gt->table;
    hdr->nr_entries = nr_entries;
    hdr->backend_domid = backend_domid;
    hdr->guest_frames = gt->guest_frames;
    __atomic_store_n(&hdr->magic, EMU_MAGIC, __ATOMIC_RELEASE);
    return gt;
}

/*
 * The header is read once, with pread, into a private copy, and checked
 * there: the magic, the entry count against the table memfd's size, the
 * guest frames against the guest fd's size (a frame past the end of the
 * guest memfd would be a SIGBUS at the first access). Only then is the
 * table mapped, exactly as large as the entry count says.
 */
gm_gnttab_emu *gm_gnttab_emu_attach(int table_fd, int guest_fd)
{
    int tfd = dup(table_fd), gfd = dup(guest_fd);
    gm_gnttab_emu *gt;
    struct stat tst, gst;
    emu_header h;

    if (tfd < 0 || gfd < 0 || fstat(tfd, &tst) < 0 || fstat(gfd, &gst) < 0) {
        close_both(tfd, gfd);
        return NULL;
    }
    if (pread(tfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != EMU_MAGIC ||
        !h.nr_entries || h.nr_entries > EMU_MAX_ENTRIES || tst.st_size < 0 ||
        table_bytes(h.nr_entries) > (uint64_t)tst.st_size || !h.guest_frames ||
        gst.st_size < 0 || h.guest_frames > (uint64_t)gst.st_size / EMU_PAGE) {
        close_both(tfd, gfd);
        errno = EINVAL;
        return NULL;
    }
    gt = emu_open(tfd, gfd, h.nr_entries, h.guest_frames, h.backend_domid);
    if (!gt)
        close_both(tfd, gfd);
    return gt;
}

int gm_gnttab_emu_fd(const gm_gnttab_emu *gt)
{
    return gt->table_fd;
}

void gm_gnttab_emu_free(gm_gnttab_emu *gt)
{
    if (!gt)
        return;
    while (gt->mappings) {
        emu_mapping *m = gt->mappings;

        gt->mappings = m->next;
        munmap(m->addr, (size_t)m->count * EMU_PAGE);
        free(m);
    }
    munmap(gt->table, gt->table_size);
    close(gt->table_fd);
    close(gt->guest_fd);
    pthread_mutex_destroy(&gt->lock);
    free(gt);
}

/* ---- the granter ------------------------------------------------------- */

int gm_gnttab_emu_grant(gm_gnttab_emu *gt, gm_grant_ref ref, gm_domid domid, uint32_t frame,
                        bool readonly)
{
    gm_grant_entry_v1 *e;

    if (ref >= gt->nr_entries || frame >= gt->guest_frames)
        return -EINVAL;
    e = &gt->entries[ref];
    if (__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & (GM_GTF_READING | GM_GTF_WRITING))
        return -EBUSY;
    __atomic_store_n(&e->domid, domid, __ATOMIC_RELAXED);
    __atomic_store_n(&e->frame, frame, __ATOMIC_RELAXED);
    /* Xen's rule: domid and frame are visible before the flags. */
    __atomic_store_n(&e->flags,
                     (uint16_t)(GM_GTF_PERMIT_ACCESS | (readonly ? GM_GTF_READONLY : 0)),
                     __ATOMIC_RELEASE);
    return 0;
}

int gm_gnttab_emu_end_access(gm_gnttab_emu *gt, gm_grant_ref ref)
{
    gm_grant_entry_v1 *e;
    uint16_t flags;

    if (ref >= gt->nr_entries)
        return -EINVAL;
    e = &gt->entries[ref];
    flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    do {
        if (flags & (GM_GTF_READING | GM_GTF_WRITING))
            return -EBUSY;
    } while (!__atomic_compare_exchange_n(&e->flags, &flags, 0, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    return 0;
}

int gm_gnttab_emu_entry(gm_gnttab_emu *gt, gm_grant_ref ref, gm_grant_entry_v1 *out)
{
    if (ref >= gt->nr_entries)
        return -EINVAL;
    out->flags = __atomic_load_n(&gt->entries[ref].flags, __ATOMIC_ACQUIRE);
    out->domid = __atomic_load_n(&gt->entries[ref].domid, __ATOMIC_RELAXED);
    out->frame = __atomic_load_n(&gt->entries[ref].frame, __ATOMIC_RELAXED);
    return 0;
}

/* ---- the backend: pinning entries ------------------------------------- */

/* Take the grant for mapping: set reading/writing; returns the frame. */
static int pin_locked(gm_gnttab_emu *gt, gm_grant_ref ref, bool writable, uint32_t *frame)
{
    gm_grant_entry_v1 *e;
    uint16_t flags, want;

    if (ref >= gt->nr_entries)
        return -EINVAL;
    e = &gt->entries[ref];
    flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    do {
        if ((flags & GM_GTF_TYPE_MASK) != GM_GTF_PERMIT_ACCESS ||
            (writable && (flags & GM_GTF_READONLY)) ||
            __atomic_load_n(&e->domid, __ATOMIC_RELAXED) != gt->backend_domid)
            return -EACCES;
        want = (uint16_t)(flags | GM_GTF_READING | (writable ? GM_GTF_WRITING : 0));
    } while (!__atomic_compare_exchange_n(&e->flags, &flags, want, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    gt->active[ref] += writable ? 0x10000u : 1u;
    *frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
    return 0;
}

/* Drop one mapping's hold; clear the flags the hypervisor would clear. */
static void unpin_locked(gm_gnttab_emu *gt, gm_grant_ref ref, bool writable)
{
    gm_grant_entry_v1 *e = &gt->entries[ref];
    uint32_t active = gt->active[ref] -= writable ? 0x10000u : 1u;
    uint16_t clear = 0, flags;

    if (!(active >> 16))
        clear |= GM_GTF_WRITING;
    if (!active)
        clear |= GM_GTF_READING;
    flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    while (clear && !__atomic_compare_exchange_n(&e->flags, &flags, (uint16_t)(flags & ~clear),
                                                 false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
}

/* ---- the backend: the provider ------------------------------------------ */

static int map_one_locked(gm_gnttab_emu *gt, uint8_t *at, gm_grant_ref ref, bool writable)
{
    uint32_t frame;
    int err = pin_locked(gt, ref, writable, &frame);

    if (err)
        return err;
    if (frame >= gt->guest_frames ||
        mmap(at, EMU_PAGE, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED,
             gt->guest_fd, (off_t)frame * EMU_PAGE) == MAP_FAILED) {
        unpin_locked(gt, ref, writable);
        return frame >= gt->guest_frames ? -EINVAL : -errno;
    }
    return 0;
}

static void *emu_map_refs(void *ctx, gm_domid domid, const gm_grant_ref *refs,
                          unsigned int count, bool writable)
{
    gm_gnttab_emu *gt = ctx;
    emu_mapping *m;
    unsigned int i;
    int err = 0;

    (void)domid;
    if (!count || count > EMU_MAX_MAP) {
        errno = EINVAL;
        return NULL;
    }
    m = malloc(sizeof(*m) + count * sizeof(gm_grant_ref));
    if (!m)
        return NULL;
    m->addr = mmap(NULL, (size_t)count * EMU_PAGE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->addr == MAP_FAILED) {
        free(m);
        return NULL;
    }
    m->count = count;
    m->writable = writable;
    memcpy(m->refs, refs, count * sizeof(gm_grant_ref));
    pthread_mutex_lock(&gt->lock);
    for (i = 0; i < count && !err; i++)
        err = map_one_locked(gt, (uint8_t *)m->addr + (size_t)i * EMU_PAGE, refs[i], writable);
    if (err) {
        for (unsigned int j = 0; j + 1 < i; j++)
            unpin_locked(gt, refs[j], writable);
    } else {
        m->next = gt->mappings;
        gt->mappings = m;
    }
    pthread_mutex_unlock(&gt->lock);
    if (err) {
        munmap(m->addr, (size_t)count * EMU_PAGE);
        free(m);
        errno = -err;
        return NULL;
    }
    return m->addr;
}

static int emu_unmap(void *ctx, void *addr, unsigned int count)
{
    gm_gnttab_emu *gt = ctx;
    emu_mapping **pp, *m = NULL;

    pthread_mutex_lock(&gt->lock);
    for (pp = &gt->mappings; *pp; pp = &(*pp)->next) {
        if ((*pp)->addr == addr && (*pp)->count == count) {
            m = *pp;
            *pp = m->next;
            break;
        }
    }
    if (m) {
        /* Unmap before the granter can see the grant free again. */
        munmap(m->addr, (size_t)m->count * EMU_PAGE);
        for (unsigned int i = 0; i < m->count; i++)
            unpin_locked(gt, m->refs[i], m->writable);
    }
    pthread_mutex_unlock(&gt->lock);
    free(m);
    return m ? 0 : -EINVAL;
}

static int emu_copy(void *ctx, gm_domid domid, gm_grant_ref ref, uint32_t offset, void *buf,
                    uint32_t len, bool to_grant)
{
    gm_gnttab_emu *gt = ctx;
    uint32_t frame;
    ssize_t n;
    int err;

    (void)domid;
    if (offset >= EMU_PAGE || len > EMU_PAGE - offset)
        return -EINVAL;
    pthread_mutex_lock(&gt->lock);
    err = pin_locked(gt, ref, to_grant, &frame);
    pthread_mutex_unlock(&gt->lock);
    if (err)
        return err;
    if (frame >= gt->guest_frames) {
        n = -1;
        errno = EINVAL;
    } else if (to_grant) {
        n = pwrite(gt->guest_fd, buf, len, (off_t)frame * EMU_PAGE + offset);
    } else {
        n = pread(gt->guest_fd, buf, len, (off_t)frame * EMU_PAGE + offset);
    }
    err = n == (ssize_t)len ? 0 : (n < 0 ? -errno : -EIO);
    pthread_mutex_lock(&gt->lock);
    unpin_locked(gt, ref, to_grant);
    pthread_mutex_unlock(&gt->lock);
    return err;
}

static void emu_close(void *ctx)
{
    (void)ctx;   /* the table belongs to its creator */
}

static const gm_grant_provider_ops emu_ops = {
    .map_refs = emu_map_refs, .unmap = emu_unmap, .copy = emu_copy, .close = emu_close,
};

gm_grant_provider gm_gnttab_emu_provider(gm_gnttab_emu *gt)
{
    return (gm_grant_provider){ .ops = &emu_ops, .ctx = gt };
}

static void emu_close_free(void *ctx)
{
    gm_gnttab_emu_free(ctx);
}

static const gm_grant_provider_ops emu_owning_ops = {
    .map_refs = emu_map_refs, .unmap = emu_unmap, .copy = emu_copy, .close = emu_close_free,
};

gm_grant_provider gm_gnttab_emu_provider_owning(gm_gnttab_emu *gt)
{
    return (gm_grant_provider){ .ops = &emu_owning_ops, .ctx = gt };
}
