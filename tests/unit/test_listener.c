/* SPDX-License-Identifier: MIT */
/*
 * Listeners: replay on registration, the order of listeners of different
 * priorities, region_del/region_add/region_nop on topology changes,
 * log_start/log_stop, global dirty logging, unregistration, and listeners of
 * another address space.
 *
 * Every callback appends to one event log shared by all listeners, so the
 * interleaving between listeners is checked too.
 */
#include "unit.h"

#include <errno.h>

enum ev_kind { EV_BEGIN, EV_COMMIT, EV_ADD, EV_DEL, EV_NOP, EV_LOG_START, EV_LOG_STOP,
               EV_GLOBAL_START, EV_GLOBAL_STOP };

static const char *const ev_names[] = { "begin", "commit", "add", "del", "nop", "log_start",
                                        "log_stop", "global_start", "global_stop" };

typedef struct event {
    const char *who;
    enum ev_kind kind;
    gm_region *mr;
    gm_addr start;
    uint64_t size;
    int old_mask;
    int new_mask;
} event;

static event events[256];
static int nevents;

static void ev_push(gm_listener *l, enum ev_kind kind, const gm_section *s, int old_mask,
                    int new_mask)
{
    event *e;

    CHECK(nevents < 256, "event log full");
    e = &events[nevents++];
    *e = (event){ .who = l->name, .kind = kind, .old_mask = old_mask, .new_mask = new_mask };
    if (s) {
        e->mr = s->mr;
        e->start = s->offset_within_address_space;
        e->size = s->size;
    }
}

static void on_begin(gm_listener *l)
{
    ev_push(l, EV_BEGIN, NULL, 0, 0);
}

static void on_commit(gm_listener *l)
{
    ev_push(l, EV_COMMIT, NULL, 0, 0);
}

static void on_add(gm_listener *l, const gm_section *s)
{
    ev_push(l, EV_ADD, s, 0, 0);
}

static void on_del(gm_listener *l, const gm_section *s)
{
    ev_push(l, EV_DEL, s, 0, 0);
}

static void on_nop(gm_listener *l, const gm_section *s)
{
    ev_push(l, EV_NOP, s, 0, 0);
}

static void on_log_start(gm_listener *l, const gm_section *s, int old_mask, int new_mask)
{
    ev_push(l, EV_LOG_START, s, old_mask, new_mask);
}

static void on_log_stop(gm_listener *l, const gm_section *s, int old_mask, int new_mask)
{
    ev_push(l, EV_LOG_STOP, s, old_mask, new_mask);
}

static void on_global_start(gm_listener *l)
{
    ev_push(l, EV_GLOBAL_START, NULL, 0, 0);
}

static void on_global_stop(gm_listener *l)
{
    ev_push(l, EV_GLOBAL_STOP, NULL, 0, 0);
}

static gm_listener make_listener(const char *name, int priority)
{
    return (gm_listener){
        .begin = on_begin,
        .commit = on_commit,
        .region_add = on_add,
        .region_del = on_del,
        .region_nop = on_nop,
        .log_start = on_log_start,
        .log_stop = on_log_stop,
        .log_global_start = on_global_start,
        .log_global_stop = on_global_stop,
        .priority = priority,
        .name = name,
    };
}

static void events_clear(void)
{
    nevents = 0;
}

static void dump_events(void)
{
    for (int i = 0; i < nevents; i++) {
        fprintf(stderr, "  %d: %s %s", i, events[i].who, ev_names[events[i].kind]);
        if (events[i].mr)
            fprintf(stderr, " %s 0x%llx+0x%llx", gm_region_name(events[i].mr),
                    (unsigned long long)events[i].start, (unsigned long long)events[i].size);
        if (events[i].kind == EV_LOG_START || events[i].kind == EV_LOG_STOP)
            fprintf(stderr, " %d->%d", events[i].old_mask, events[i].new_mask);
        fputc('\n', stderr);
    }
}

/* Event @i is @kind from @who (for a section: of @mr at @start, @size). */
static void check_event(int i, const char *who, enum ev_kind kind, gm_region *mr, gm_addr start,
                        uint64_t size)
{
    bool ok = i < nevents && strcmp(events[i].who, who) == 0 && events[i].kind == kind;

    if (ok && mr)
        ok = events[i].mr == mr && events[i].start == start && events[i].size == size;
    if (!ok) {
        dump_events();
        CHECK(false, "event %d: want %s %s %s 0x%llx+0x%llx", i, who, ev_names[kind],
              mr ? gm_region_name(mr) : "-", (unsigned long long)start,
              (unsigned long long)size);
    }
}

static void check_masks(int i, int old_mask, int new_mask)
{
    CHECK(i < nevents && events[i].old_mask == old_mask && events[i].new_mask == new_mask,
          "event %d masks %d->%d, want %d->%d", i, i < nevents ? events[i].old_mask : -1,
          i < nevents ? events[i].new_mask : -1, old_mask, new_mask);
}

static void check_count(int n)
{
    if (nevents != n)
        dump_events();
    CHECK(nevents == n, "%d events, want %d", nevents, n);
}

#define MASK(client) (1 << (client))

/* ---- steps ------------------------------------------------------------------ */

/* Registration replays the current view: begin, add per section, commit. */
static void test_replay(void)
{
    fixture f;
    gm_listener l = make_listener("L", 0);
    gm_region *ram, *dev;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    dev = add_owned(f.root, 0x2000, gm_region_new_io(f.sys, "dev", 0x100, &null_ops, NULL), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "set_log");

    events_clear();
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register");
    check_count(5);
    check_event(0, "L", EV_BEGIN, NULL, 0, 0);
    check_event(1, "L", EV_ADD, ram, 0x0, 0x1000);
    check_event(2, "L", EV_LOG_START, ram, 0x0, 0x1000);
    check_masks(2, 0, MASK(GM_DIRTY_VGA));
    check_event(3, "L", EV_ADD, dev, 0x2000, 0x100);
    check_event(4, "L", EV_COMMIT, NULL, 0, 0);

    CHECK_EQ_U64(gm_listener_register(&l, f.as), -EBUSY, "registered twice");
    gm_listener_unregister(&l);
    fixture_fini(&f);
}

/* Lower priority gets additions first and removals last. */
static void test_priority_order(void)
{
    fixture f;
    gm_listener hi = make_listener("hi", 10), lo = make_listener("lo", 1);
    gm_region *ram;

    fixture_init(&f, 0x100000);
    CHECK_EQ_U64(gm_listener_register(&hi, f.as), 0, "register hi");
    CHECK_EQ_U64(gm_listener_register(&lo, f.as), 0, "register lo");

    events_clear();
    ram = gm_region_new_ram(f.sys, "ram", 0x1000);
    CHECK_EQ_U64(gm_region_add_subregion(f.root, 0x0, ram), 0, "add");
    check_count(6);
    check_event(0, "lo", EV_BEGIN, NULL, 0, 0);
    check_event(1, "hi", EV_BEGIN, NULL, 0, 0);
    check_event(2, "lo", EV_ADD, ram, 0x0, 0x1000);
    check_event(3, "hi", EV_ADD, ram, 0x0, 0x1000);
    check_event(4, "lo", EV_COMMIT, NULL, 0, 0);
    check_event(5, "hi", EV_COMMIT, NULL, 0, 0);

    events_clear();
    CHECK_EQ_U64(gm_region_del_subregion(f.root, ram), 0, "del");
    check_count(6);
    check_event(2, "hi", EV_DEL, ram, 0x0, 0x1000);
    check_event(3, "lo", EV_DEL, ram, 0x0, 0x1000);

    gm_region_unref(ram);
    gm_listener_unregister(&lo);
    gm_listener_unregister(&hi);
    fixture_fini(&f);
}

/* A topology change: ranges that go away or change get region_del, new ones
 * region_add, unchanged ones region_nop. */
static void test_topology_change(void)
{
    fixture f;
    gm_listener l = make_listener("L", 0);
    gm_region *ram, *x, *y;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x2000), 0);
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register");

    /* x splits ram: ram[0, 0x2000) goes, ram[0, 0x1000) and x come. */
    events_clear();
    x = add_owned(f.root, 0x1000, gm_region_new_io(f.sys, "x", 0x1000, &null_ops, NULL), 1);
    check_count(5);
    check_event(0, "L", EV_BEGIN, NULL, 0, 0);
    check_event(1, "L", EV_DEL, ram, 0x0, 0x2000);
    check_event(2, "L", EV_ADD, ram, 0x0, 0x1000);
    check_event(3, "L", EV_ADD, x, 0x1000, 0x1000);
    check_event(4, "L", EV_COMMIT, NULL, 0, 0);

    /* y elsewhere: the others are unchanged. */
    events_clear();
    y = add_owned(f.root, 0x8000, gm_region_new_ram(f.sys, "y", 0x1000), 0);
    check_count(5);
    check_event(1, "L", EV_NOP, ram, 0x0, 0x1000);
    check_event(2, "L", EV_NOP, x, 0x1000, 0x1000);
    check_event(3, "L", EV_ADD, y, 0x8000, 0x1000);

    /* Removing y: del first, then the nops. */
    events_clear();
    CHECK_EQ_U64(gm_region_del_subregion(f.root, y), 0, "del y");
    check_count(5);
    check_event(1, "L", EV_DEL, y, 0x8000, 0x1000);
    check_event(2, "L", EV_NOP, ram, 0x0, 0x1000);
    check_event(3, "L", EV_NOP, x, 0x1000, 0x1000);

    /* Disabling x joins ram back into one range. */
    events_clear();
    gm_region_set_enabled(x, false);
    check_count(5);
    check_event(1, "L", EV_DEL, ram, 0x0, 0x1000);
    check_event(2, "L", EV_DEL, x, 0x1000, 0x1000);
    check_event(3, "L", EV_ADD, ram, 0x0, 0x2000);

    gm_listener_unregister(&l);
    fixture_fini(&f);
}

/* gm_region_set_log: log_start/log_stop with the old and new masks. */
static void test_log_start_stop(void)
{
    fixture f;
    gm_listener l = make_listener("L", 0);
    gm_region *ram;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    add_owned(f.root, 0x4000, gm_region_new_io(f.sys, "dev", 0x100, &null_ops, NULL), 0);
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register");

    events_clear();
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, true), 0, "log VGA");
    check_count(5);
    check_event(1, "L", EV_NOP, ram, 0x0, 0x1000);
    check_event(2, "L", EV_LOG_START, ram, 0x0, 0x1000);
    check_masks(2, 0, MASK(GM_DIRTY_VGA));

    events_clear();
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, true), 0, "log USER");
    check_event(2, "L", EV_LOG_START, ram, 0x0, 0x1000);
    check_masks(2, MASK(GM_DIRTY_VGA), MASK(GM_DIRTY_VGA) | MASK(GM_DIRTY_USER));

    events_clear();
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_VGA, false), 0, "unlog VGA");
    check_event(2, "L", EV_LOG_STOP, ram, 0x0, 0x1000);
    check_masks(2, MASK(GM_DIRTY_VGA) | MASK(GM_DIRTY_USER), MASK(GM_DIRTY_USER));

    events_clear();
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, false), 0, "unlog USER");
    check_event(2, "L", EV_LOG_STOP, ram, 0x0, 0x1000);
    check_masks(2, MASK(GM_DIRTY_USER), 0);
    for (int i = 0; i < nevents; i++)
        CHECK(events[i].mr != ram || events[i].kind == EV_NOP || events[i].kind == EV_LOG_STOP,
              "no other event for ram");

    gm_listener_unregister(&l);
    fixture_fini(&f);
}

/* Global dirty logging: log_global_start/stop, and log_start/log_stop for
 * every RAM range (not for I/O). Replay while global logging is on includes
 * log_global_start. */
static void test_log_global(void)
{
    fixture f;
    gm_listener a = make_listener("a", 0), b = make_listener("b", 5), late = make_listener("z", 0);
    gm_region *ram, *dev;
    int global_starts = 0, log_starts = 0;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    dev = add_owned(f.root, 0x4000, gm_region_new_io(f.sys, "dev", 0x100, &null_ops, NULL), 0);
    CHECK_EQ_U64(gm_listener_register(&a, f.as), 0, "register a");
    CHECK_EQ_U64(gm_listener_register(&b, f.as), 0, "register b");

    events_clear();
    CHECK_EQ_U64(gm_system_log_global_start(f.sys), 0, "global start");
    for (int i = 0; i < nevents; i++) {
        if (events[i].kind == EV_GLOBAL_START)
            global_starts++;
        if (events[i].kind == EV_LOG_START) {
            CHECK(events[i].mr == ram, "log_start only for RAM");
            CHECK(events[i].new_mask & MASK(GM_DIRTY_MIGRATION), "migration bit");
            log_starts++;
        }
        CHECK(events[i].mr != dev || events[i].kind == EV_NOP, "dev only gets nop");
    }
    CHECK(global_starts == 2 && log_starts == 2, "one global_start and one log_start each");
    for (int i = 0, seen_a = 0; i < nevents; i++) {
        if (events[i].kind == EV_GLOBAL_START && !strcmp(events[i].who, "a"))
            seen_a = 1;
        if (events[i].kind == EV_GLOBAL_START && !strcmp(events[i].who, "b"))
            CHECK(seen_a, "global start goes in priority order");
    }

    events_clear();
    CHECK_EQ_U64(gm_listener_register(&late, f.as), 0, "register while logging");
    check_count(6);
    check_event(0, "z", EV_BEGIN, NULL, 0, 0);
    check_event(1, "z", EV_GLOBAL_START, NULL, 0, 0);
    check_event(2, "z", EV_ADD, ram, 0x0, 0x1000);
    check_event(3, "z", EV_LOG_START, ram, 0x0, 0x1000);
    check_masks(3, 0, MASK(GM_DIRTY_MIGRATION));
    check_event(4, "z", EV_ADD, dev, 0x4000, 0x100);
    check_event(5, "z", EV_COMMIT, NULL, 0, 0);
    gm_listener_unregister(&late);

    events_clear();
    gm_system_log_global_stop(f.sys);
    global_starts = log_starts = 0;
    for (int i = 0, seen_b = 0; i < nevents; i++) {
        if (events[i].kind == EV_GLOBAL_STOP) {
            global_starts++;
            if (!strcmp(events[i].who, "b"))
                seen_b = 1;
            else
                CHECK(seen_b, "global stop goes in reverse priority order");
        }
        if (events[i].kind == EV_LOG_STOP) {
            CHECK(events[i].mr == ram && events[i].new_mask == 0, "log_stop for RAM");
            log_starts++;
        }
    }
    CHECK(global_starts == 2 && log_starts == 2, "one global_stop and one log_stop each");

    gm_listener_unregister(&b);
    gm_listener_unregister(&a);
    fixture_fini(&f);
}

/* Unregistration sends region_del (after log_stop) for every range. */
static void test_unregister(void)
{
    fixture f;
    gm_listener l = make_listener("L", 0);
    gm_region *ram, *dev;

    fixture_init(&f, 0x100000);
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    dev = add_owned(f.root, 0x4000, gm_region_new_io(f.sys, "dev", 0x100, &null_ops, NULL), 0);
    CHECK_EQ_U64(gm_region_set_log(ram, GM_DIRTY_USER, true), 0, "set_log");
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register");

    events_clear();
    gm_listener_unregister(&l);
    check_count(5);
    check_event(0, "L", EV_BEGIN, NULL, 0, 0);
    check_event(1, "L", EV_LOG_STOP, ram, 0x0, 0x1000);
    check_masks(1, MASK(GM_DIRTY_USER), 0);
    check_event(2, "L", EV_DEL, ram, 0x0, 0x1000);
    check_event(3, "L", EV_DEL, dev, 0x4000, 0x100);
    check_event(4, "L", EV_COMMIT, NULL, 0, 0);

    events_clear();
    add_owned(f.root, 0x8000, gm_region_new_ram(f.sys, "after", 0x1000), 0);
    check_count(0);
    gm_listener_unregister(&l);   /* a second unregister is ignored */
    check_count(0);
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register again");
    gm_listener_unregister(&l);
    fixture_fini(&f);
}

/* A listener of another address space gets no section events for this one
 * (begin/commit are system-wide, as in QEMU). */
static void test_other_address_space(void)
{
    fixture f;
    gm_listener mine = make_listener("mine", 0), theirs = make_listener("theirs", 0);
    gm_region *other_root, *ram;
    gm_as *other;

    fixture_init(&f, 0x100000);
    other_root = gm_region_new_container(f.sys, "other-root", 0x10000);
    add_owned(other_root, 0x0, gm_region_new_ram(f.sys, "other-ram", 0x1000), 0);
    other = gm_as_new(f.sys, other_root, "other");
    CHECK(other != NULL, "second address space");
    CHECK_EQ_U64(gm_listener_register(&mine, f.as), 0, "register mine");
    CHECK_EQ_U64(gm_listener_register(&theirs, other), 0, "register theirs");

    events_clear();
    ram = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "ram", 0x1000), 0);
    /* theirs sees its own (unchanged) view: region_nop for other-ram. */
    for (int i = 0; i < nevents; i++) {
        if (!strcmp(events[i].who, "theirs")) {
            CHECK(events[i].kind == EV_BEGIN || events[i].kind == EV_COMMIT ||
                      events[i].kind == EV_NOP, "theirs: got %s", ev_names[events[i].kind]);
            CHECK(events[i].mr != ram, "theirs told about this address space's ram");
        }
    }
    CHECK(nevents == 6, "mine: begin add commit, theirs: begin nop commit (%d)", nevents);
    for (int i = 0, adds = 0; i < nevents; i++) {
        if (events[i].kind == EV_ADD) {
            CHECK(!strcmp(events[i].who, "mine") && events[i].mr == ram, "add for mine");
            CHECK(++adds == 1, "one add");
        }
    }

    gm_listener_unregister(&theirs);
    gm_listener_unregister(&mine);
    gm_as_free(other);
    gm_region_unref(other_root);
    fixture_fini(&f);
}

/* ---- a listener that changes topology from its callback --------------------- */

typedef struct toggling_listener {
    gm_listener l;
    gm_region *victim;
    bool armed;
    int dels_of_victim;
} toggling_listener;

static void toggle_add(gm_listener *l, const gm_section *s)
{
    toggling_listener *t = (toggling_listener *)l;

    if (t->armed && s->mr != t->victim) {
        t->armed = false;
        gm_region_set_enabled(t->victim, false);
    }
}

static void toggle_del(gm_listener *l, const gm_section *s)
{
    toggling_listener *t = (toggling_listener *)l;

    if (s->mr == t->victim)
        t->dels_of_victim++;
}

/* listener.h: callbacks may call gm_* functions. A change made from
 * region_add is published by a further commit before the outer call returns. */
static void test_topology_change_from_callback(void)
{
    fixture f;
    toggling_listener t = { .l = { .region_add = toggle_add, .region_del = toggle_del,
                                   .name = "t" } };
    gm_region *trigger;
    uint64_t gen;
    sec_list l;

    fixture_init(&f, 0x100000);
    t.victim = add_owned(f.root, 0x8000, gm_region_new_ram(f.sys, "victim", 0x1000), 0);
    CHECK_EQ_U64(gm_listener_register(&t.l, f.as), 0, "register");
    gen = gm_system_generation(f.sys);

    t.armed = true;
    trigger = add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "trigger", 0x1000), 0);
    CHECK(!t.armed, "callback ran");
    CHECK(!gm_region_is_enabled(t.victim), "victim disabled");
    sec_list_get(f.as, &l);
    CHECK(l.n == 1, "only trigger left: %d sections", l.n);
    check_section(&l, 0, trigger, 0x0, 0x1000, 0x0);
    CHECK(t.dels_of_victim == 1, "the listener was told the victim went: %d", t.dels_of_victim);
    CHECK_EQ_U64(gm_system_generation(f.sys), gen + 2, "two published views");

    gm_listener_unregister(&t.l);
    fixture_fini(&f);
}

/* gm_as_log_sync calls log_sync for the logged ranges of that space only. */
static int syncs;
static gm_region *synced;

static void on_sync(gm_listener *l, const gm_section *s)
{
    (void)l;
    syncs++;
    synced = s->mr;
}

static void test_log_sync(void)
{
    fixture f;
    gm_listener l = { .log_sync = on_sync, .name = "sync" };
    gm_region *logged;

    fixture_init(&f, 0x100000);
    add_owned(f.root, 0x0, gm_region_new_ram(f.sys, "plain", 0x1000), 0);
    logged = add_owned(f.root, 0x4000, gm_region_new_ram(f.sys, "logged", 0x1000), 0);
    CHECK_EQ_U64(gm_listener_register(&l, f.as), 0, "register");
    gm_as_log_sync(f.as);
    CHECK(syncs == 0, "nothing logged, nothing synced");
    CHECK_EQ_U64(gm_region_set_log(logged, GM_DIRTY_VGA, true), 0, "set_log");
    gm_as_log_sync(f.as);
    CHECK(syncs == 1 && synced == logged, "one sync, for the logged range");
    gm_listener_unregister(&l);
    fixture_fini(&f);
}

int main(void)
{
    RUN(test_replay);
    RUN(test_priority_order);
    RUN(test_topology_change);
    RUN(test_log_start_stop);
    RUN(test_log_global);
    RUN(test_unregister);
    RUN(test_other_address_space);
    RUN(test_topology_change_from_callback);
    RUN(test_log_sync);
    return 0;
}
