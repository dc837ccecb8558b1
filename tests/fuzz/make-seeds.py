#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the libFuzzer targets (tests/fuzz/corpus/<target>/seed-*).

    tests/fuzz/make-seeds.py [TARGET...]

Each seed is a small valid input that reaches one feature of its target, so
fuzzing starts past the input format instead of rediscovering it. The
encodings mirror the decoders in tests/fuzz/fuzz_<target>.c; change both
together. Seeds are rewritten from scratch (files named seed-*); other files
in the corpus directories (reproducers of fixed problems) are left alone.
"""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, 'tests', 'fuzz', 'corpus')


def write_seeds(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.unlink(os.path.join(d, f))
    for name, data in seeds.items():
        with open(os.path.join(d, 'seed-' + name), 'wb') as f:
            f.write(bytes(data))


def u16(v):
    return struct.pack('<H', v & 0xffff)


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


# ---- fuzz_mtree: truncated QEMU dumps, some with their hint files ----------

MTREE_CASES = ['x86_64-pc', 'x86_64-q35', 'aarch64-virt', 'arm-vexpress-a9', 'riscv64-virt',
               'ppc64-pseries', 'sparc-SS-5', 'alpha-clipper', 'hppa-hppa', 'or1k-virt',
               'xtensa-virt', 'mips-malta', 'm68k-q800', 's390x-s390-ccw-virtio',
               'x86_64-isapc', 'arm-highbank', 'riscv32-sifive_e', 'microblaze-petalogix-ml605']


def truncate_lines(text, max_bytes):
    out = []
    size = 0
    for line in text.splitlines(keepends=True):
        if size + len(line) > max_bytes:
            break
        out.append(line)
        size += len(line)
    return ''.join(out)


def mtree_seeds():
    seeds = {}
    data = os.path.join(ROOT, 'tests', 'data', 'mtree')
    for i, case in enumerate(MTREE_CASES):
        path = os.path.join(data, case + '.tree')
        if not os.path.exists(path):
            continue
        tree = open(path).read()
        text = truncate_lines(tree, 1500 + 300 * (i % 6)).encode()
        seeds[case] = text
        hints = os.path.join(data, case + '.hints')
        if i % 3 == 0 and os.path.exists(hints):
            seeds[case + '-hints'] = open(hints, 'rb').read()[:400] + b'\0' + text
    for name in ('memory-rst', 'small-pc'):
        base = os.path.join(ROOT, 'tests', 'mtree', 'data', name)
        seeds['hand-' + name] = open(base + '.tree', 'rb').read()
        seeds['hand-' + name + '-hints'] = (open(base + '.hints', 'rb').read() + b'\0' +
                                            open(base + '.tree', 'rb').read())
    seeds['deep-alias-chain'] = (
        b'address-space: memory\n'
        b'  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n'
        b'    0000000000001000-0000000000001fff (prio 0, ram): alias a1 @a2 0000000000000000-0000000000000fff\n'
        b'\n'
        b'memory-region: a2\n'
        b'  0000000000000000-0000000000000fff (prio 0, ram): alias a2 @ram 0000000000000000-0000000000000fff\n'
        b'\n'
        b'memory-region: ram\n'
        b'  0000000000000000-0000000000000fff (prio 0, ram): ram\n')
    seeds['disabled-nv-romd'] = (
        b'address-space: memory\n'
        b'  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n'
        b'    0000000000000000-0000000000000fff (prio 1, nv-ram): nvram\n'
        b'    0000000000002000-0000000000002fff (prio -1, romd): flash [disabled]\n'
        b'    0000000000003000-0000000000003fff (prio 0, ramd): bar\n'
        b'    0000000000004000-0000000000004fff (prio 0, rom): bios\n'
        b'\n'
        b'address-space: I/O\n'
        b'  0000000000000000-000000000000ffff (prio 0, i/o): io\n'
        b'    0000000000000060-0000000000000060 (prio 0, i/o): kbd\n')
    return seeds


# ---- fuzz_model: programs of region operations ------------------------------

OP = dict(create=0, add=1, delete=2, enable=3, move=4, resize=5, alias_off=6, readonly=7,
          romd=8, begin=9, commit=10, read=11, write=12, fill=13, ldst=14, valid=15, lookup=16,
          sections=17, map=18, cache=19, drop=20, memcheck=21, print=22)
KIND = dict(cont=0, ram=1, rom=2, ramd=3, romd=4, io=5, resv=6, alias=7)


class Model:
    """Builds an input for fuzz_model; slots 2..15 are free, 0 = sys, 1 = dev."""

    def __init__(self, cfg=0x10):
        self.b = bytearray([cfg])

    def op(self, name, *args):
        self.b.append(OP[name])
        for a in args:
            self.b += a if isinstance(a, (bytes, bytearray)) else bytes([a])
        return self

    @staticmethod
    def addr(v, top=False):
        """An address below 64 KiB, or 2^64 - 1 - v with top."""
        return bytes([5 if top else 0]) + u16(v)

    @staticmethod
    def length(n):
        return bytes([n - 1]) if n <= 16 else bytes([0xc0]) + u16(n - 1)

    @staticmethod
    def size(v):
        """Region sizes: 2^64 for None, else 1 + (v - 1)."""
        return bytes([3]) + u16(0) if v is None else bytes([1]) + u16(v - 1)

    def create(self, slot, kind, size=0x1000, how=0, alias=None):
        self.op('create', slot - 2, KIND[kind], self.size(size), how)
        if kind == 'alias':
            target, off, asize = alias
            self.b += bytes([target]) + u16(off)
            self.b += bytes([0]) if asize is None else bytes([1]) + u16(asize - 1)
        return self

    def add(self, sub, cont, addr, prio=0x80):
        # prio bytes 0x40..0xbf give (b % 5) - 2: 0x82 is 0, 0x83 is 1, 0x81 is -1
        return self.op('add', sub, cont, prio, self.addr(addr))

    def read(self, a, addr, n=8, top=False):
        return self.op('read', a, self.addr(addr, top), self.length(n), 0)

    def write(self, a, addr, n=8, top=False):
        return self.op('write', a, self.addr(addr, top), self.length(n), 0, u32(0x12345))

    def fill(self, a, addr, n, c, top=False):
        return self.op('fill', a, self.addr(addr, top), self.length(n), c)

    def ldst(self, a, addr, size_log2, store, val=0x1122334455667788, be=False):
        return self.op('ldst', a, self.addr(addr), u64(val),
                       size_log2 | (4 if be else 0) | (8 if store else 0))

    def map(self, a, addr, n, write=False, cut=0):
        self.op('map', a, self.addr(addr), self.length(n), 1 if write else 0)
        if write:
            self.b.append(cut)
        return self

    def cache(self, a, addr, n, write=False, steps=()):
        self.op('cache', a, self.addr(addr), self.length(n), 1 if write else 0,
                max(len(steps) - 1, 0))
        for off, l, w in steps or [(0, 1, False)]:
            self.b += u16(off) + u16(l - 1)
            if write:
                self.b.append(1 if w else 0)
        return self


def model_seeds():
    s = {}
    m = Model()
    m.create(2, 'ram', 0x2000).add(2, 0, 0x1000).read(0, 0x1800).write(0, 0x1ffc)
    s['ram'] = m.read(0, 0x2ffc, 0x20).b

    m = Model()
    m.create(2, 'cont', 0x8000).add(2, 0, 0)
    m.create(3, 'ram', 0x4000, how=1).add(3, 2, 0x1000)
    m.create(4, 'io', 0x1000, how=0x25).add(4, 2, 0x2000, prio=0x83)
    m.op('sections', 0).read(0, 0x1ff8, 0x40)
    s['overlap-io'] = m.ldst(0, 0x2004, 3, True).ldst(0, 0x2004, 2, False, be=True).b

    m = Model()
    m.create(2, 'ram', 0x1000).create(3, 'alias', 0x800, alias=(2, 0x400, 0x800))
    m.add(3, 0, 0x5000).add(2, 0, 0x1000).op('readonly', 3, 1)
    s['alias-ro'] = m.write(0, 0x5000).read(0, 0x4ffc).map(0, 0x5000, 0x10, True, 1).b

    m = Model()
    m.create(2, 'romd', 0x1000, how=0x07).add(2, 0, 0x3000)
    m.read(0, 0x3000).write(0, 0x3010).op('romd', 2, 0).read(0, 0x3000).op('romd', 2, 1)
    s['romd'] = m.op('memcheck').b

    m = Model()
    m.create(2, 'ramd', 0x100).add(2, 0, 0x100)
    m.ldst(0, 0x100, 2, True).ldst(0, 0x101, 1, False)
    s['ramd'] = m.cache(0, 0x100, 0x10, True, [(0, 4, True), (4, 4, False)]).b

    m = Model()
    m.create(2, 'resv', 0x1000).create(3, 'rom', 0x1000)
    m.add(2, 0, 0x1000).add(3, 0, 0x1800, prio=0x83)
    s['resv-rom'] = m.read(0, 0x17f0, 0x20).write(0, 0x1800).op('valid', 0, Model.addr(0x17ff),
                                                                 1, 0).b

    m = Model()
    m.op('begin').create(2, 'ram', 0x1000).add(2, 0, 0x1000).read(0, 0x1000)
    m.op('begin').op('move', 2, Model.addr(0x3000)).op('commit').read(0, 0x3000)
    s['transaction'] = m.op('commit').read(0, 0x3000).op('lookup', 0, Model.addr(0x3000)).b

    m = Model()
    m.create(2, 'io', 0x100, how=0x41).add(2, 0, 0xff80)
    s['io-small'] = m.read(0, 0xfff8, 0x10).fill(0, 0xff00, 0x300, 0x5a).b

    m = Model()
    m.create(2, 'io', None, how=0x22).add(2, 0, 0)
    m.read(0, 0x8, 8, top=True).write(0, 4, 8, top=True)
    s['io-2-64-top'] = m.fill(0, 0x20, 0x200, 0x77, top=True).b

    m = Model()
    m.create(2, 'ram', 0x1000).add(2, 1, 0)
    m.create(3, 'alias', 0x1000, alias=(1, 0, None)).add(3, 0, 0x10000)
    s['dev-root-alias'] = m.read(1, 0x10).read(0, 0x10010).op('sections', 1).op('sections', 0).b

    m = Model(cfg=0x07)
    m.create(2, 'ram', 0x1000).add(2, 0, 0x1000, prio=0x83)
    s['sys-io-root'] = m.read(0, 0x0ff0, 0x20).op('print', 3).b

    m = Model()
    m.create(2, 'ram', 0x1000).add(2, 0, 0x1000)
    m.op('resize', 2, Model.size(0x800)).read(0, 0x17f8, 0x10)
    m.op('resize', 2, Model.size(0x2000)).op('enable', 2, 0).read(0, 0x1000)
    s['resize-enable-drop'] = m.op('enable', 2, 1).op('delete', 2, 0, 1).op('drop', 2).op(
        'memcheck').b

    m = Model()
    m.create(2, 'ram', 0x4000, how=2).add(2, 0, 0)
    m.map(0, 0x100, 0x300).map(0, 0x3f00, 0x3ff, True, 3)
    s['map-cache'] = m.cache(0, 0x200, 0x20, False, [(0, 8, False), (8, 8, False)]).b

    m = Model()
    kinds = ['cont', 'ram', 'io', 'rom', 'ramd', 'resv']
    for slot in range(2, 8):
        m.create(slot, kinds[slot - 2], 0x800 * slot, how=slot)
        m.add(slot, 0 if slot < 4 else 2, 0x400 * slot, prio=0x80 + slot)
    s['mixed-tree'] = m.op('sections', 0).read(0, 0x1000, 0x100).op('memcheck').op('print', 1).b

    m = Model()
    m.create(2, 'cont', 0x10000).add(2, 0, 0)
    m.create(3, 'alias', 0x1000, alias=(2, 0x100, 0x100)).add(3, 0, 0x20000)
    m.create(4, 'ram', 0x1000).add(4, 2, 0x100).op('alias_off', 3, 0, u16(0x80))
    s['alias-of-container'] = m.read(0, 0x20000, 0x10).add(3, 2, 0).add(2, 4, 0).b

    m = Model()
    m.create(2, 'ram', 0x1000).add(2, 0, 0)
    m.op('move', 2, Model.addr(0x30, True)).read(0, 0x40, 0x80, top=True)
    s['top-of-space'] = m.op('lookup', 0, Model.addr(0, True)).op('sections', 0).b
    return s


# ---- fuzz_virtq: rings in guest memory ---------------------------------------

RAM = 0
IO_BASE = 0x10000
MOD_BASE = 0x20000
IOMMU_BASE = 0x100000000
GRANT_BASE = 1 << 63
VQ_DESC, VQ_AVAIL, VQ_USED = 0x000, 0x100, 0x200
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def desc(addr, length, flags=0, nxt=0):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


def virtq_input(chains, size_log2=2, hflags=0, placement=0, actions=(), mc=0,
                iommu=None, grants=None, extra=()):
    """chains: list of (head, [descs as (addr, len, flags, next)]) written at their indices."""
    size = 1 << size_log2
    image = bytearray(0x3000)
    heads = []
    for head, descs in chains:
        for idx, d in descs:
            image[VQ_DESC + 16 * idx:VQ_DESC + 16 * idx + 16] = desc(*d)
        heads.append(head)
    image[VQ_AVAIL:VQ_AVAIL + 4] = u16(0) + u16(len(heads))
    for i, h in enumerate(heads):
        image[VQ_AVAIL + 4 + 2 * i:VQ_AVAIL + 6 + 2 * i] = u16(h)
    for off, data in extra:
        image[off:off + len(data)] = data
    hdr = bytes([size_log2, hflags]) + u16(VQ_DESC) + u16(VQ_AVAIL) + u16(VQ_USED)
    hdr += bytes([placement]) + u16(0) + bytes([len(actions)]) + bytes([mc, 0])
    if iommu is None:
        iommu = [(3, i) for i in range(16)]          # identity onto RAM, read-write
    if grants is None:
        grants = [(1, i) for i in range(16)]         # ref i -> frame i, writable
    tables = b''.join(bytes(e) for e in iommu) + b''.join(bytes(e) for e in grants)
    acts = b''.join(bytes(a) for a in actions)
    return hdr + tables + acts + bytes(image).rstrip(b'\0')


def virtq_seeds():
    s = {}
    two = [(0, [(0, (0x1000, 0x100, F_NEXT, 1)), (1, (0x2000, 0x200, F_WRITE, 0))])]
    s['ram'] = virtq_input(two)
    s['io-buffers'] = virtq_input([(0, [(0, (IO_BASE + 0x10, 0x40, F_NEXT, 1)),
                                        (1, (IO_BASE + 0x800, 0x100, F_WRITE, 0))])])
    s['mod-buffers'] = virtq_input([(0, [(0, (MOD_BASE + 0x2ff0, 0x20, F_NEXT, 1)),
                                         (1, (MOD_BASE + 0x3000, 0x1000, F_WRITE, 0))])])
    s['iommu-buffers'] = virtq_input([(0, [(0, (IOMMU_BASE + 0x1ff0, 0x20, F_NEXT, 1)),
                                           (1, (IOMMU_BASE + 0x2000, 0x800, F_WRITE, 0))])])
    s['grant-buffers'] = virtq_input([(0, [(0, (GRANT_BASE + 0x1ff0, 0x20, F_NEXT, 1)),
                                           (1, (GRANT_BASE + 0x2000, 0x1800, F_WRITE, 0))])])
    for name, where in (('rings-mod', 0x15), ('rings-iommu', 0x2a), ('rings-grants', 0x3f),
                        ('rings-mixed', 0x24)):
        s[name] = virtq_input(two, placement=where)
    ind = [(0, [(0, (0x1000, 0x100, 0, 0)), ])]
    table = desc(0x1100, 0x10, F_NEXT, 1) + desc(GRANT_BASE + 0x3000, 0x20, F_WRITE | F_NEXT, 2)
    table += desc(IOMMU_BASE + 0x4000, 0x10, F_WRITE, 0)
    s['indirect'] = virtq_input([(0, [(0, (0x2800, len(table), F_INDIRECT, 0))])], hflags=1,
                                extra=[(0x2800, table)])
    s['indirect-in-grant'] = virtq_input(
        [(0, [(0, (GRANT_BASE + 0x2800, len(table), F_INDIRECT, 0))])], hflags=1,
        extra=[(0x2800, table)])
    s['event-idx'] = virtq_input(two, hflags=2, actions=[(1, 4, 0, 0, 0, 0), (2, 5, 0, 0, 0, 0)])
    s['limits'] = virtq_input([(0, [(i, (0x1000 + 0x100 * i, 0x100, F_NEXT if i < 9 else 0,
                                         i + 1)) for i in range(10)])], size_log2=4,
                              hflags=4 | 8 | 16)
    s['loop'] = virtq_input([(0, [(0, (0x1000, 0x10, F_NEXT, 1)), (1, (0x1000, 0x10, F_NEXT, 0))])])
    s['many-chains'] = virtq_input(
        [(h, [(h, (0x1000 + 0x40 * h, 0x40, F_WRITE, 0))]) for h in range(8)], size_log2=3)
    # Actions: (when, kind, off16, val16) -> bytes when, kind, off lo, off hi, val lo, val hi
    s['iommu-remap'] = virtq_input(two, placement=0x2a, actions=[
        (0, 6, 1, 0, 0x03, 0x05), (0, 3, 0, 0, 0, 0), (1, 6, 2, 0, 0x01, 0x02)])
    s['iommu-nested'] = virtq_input(
        [(0, [(0, (IOMMU_BASE + 0x8000, 0x10, 0, 0))])],
        iommu=[(3, i) for i in range(8)] + [(0x13, 9), (0x03, 1)] + [(3, i) for i in range(10, 16)])
    s['grant-revoke'] = virtq_input(two, placement=0x3f, mc=0x41, actions=[
        (0, 10, 0, 0, 4, 0), (0, 7, 1, 0, 0, 0), (0, 8, 1, 0, 2, 7), (1, 3, 0, 0, 0, 0)])
    s['grant-hostile'] = virtq_input(
        [(0, [(0, (GRANT_BASE + 0x5000, 0x20, 0, 0))])], mc=0x82, actions=[
            (0, 9, 5, 0, 0x05, 0), (0, 9, 21, 0, 9, 0), (0, 9, 37, 0, 0xff, 0xff)],
        grants=[(1, i) if i != 6 else (3, 6) for i in range(16)])
    s['grant-readonly'] = virtq_input(two, placement=0x30,
                                      grants=[(5, i) for i in range(16)])
    s['set-base'] = virtq_input(two, actions=[(0, 2, 0, 0, 0xff, 0xff), (1, 11, 0, 0, 0, 0)])
    # Packed layout (header byte 1 bit 5): descriptors {addr, len, id, flags}.
    # The starting index 0 is position 0 with wrap counter 0, so a descriptor
    # is available with AVAIL clear and USED set.
    avail = 1 << 15
    pk = lambda i, a, n, idn, f: (VQ_DESC + 16 * i, u64(a) + u32(n) + u16(idn) + u16(f | avail))
    s['packed-chain'] = virtq_input([], hflags=32 | 2, extra=[
        pk(0, 0x1000, 0x100, 0, F_NEXT), pk(1, 0x2000, 0x200, 3, F_WRITE),
        pk(2, 0x3000, 0x10, 1, 0)])
    s['packed-indirect'] = virtq_input([], hflags=32 | 1 | 0x40, extra=[
        pk(0, 0x2800, 32, 2, F_INDIRECT),
        (0x2800, u64(0x1000) + u32(0x40) + u16(0) + u16(0) +
         u64(0x2000) + u32(0x40) + u16(0) + u16(F_WRITE))])
    return s


# ---- fuzz_vhost: message sequences with fds -------------------------------------

V = dict(GET_FEATURES=1, SET_FEATURES=2, SET_OWNER=3, RESET_OWNER=4, SET_MEM_TABLE=5,
         SET_LOG_BASE=6, SET_VRING_NUM=8, SET_VRING_ADDR=9, SET_VRING_BASE=10,
         GET_VRING_BASE=11, SET_VRING_KICK=12, SET_VRING_CALL=13, SET_VRING_ERR=14,
         GET_PROTOCOL_FEATURES=15, SET_PROTOCOL_FEATURES=16, GET_QUEUE_NUM=17,
         SET_VRING_ENABLE=18, SET_BACKEND_REQ_FD=21, IOTLB_MSG=22, GET_CONFIG=24, SET_CONFIG=25,
         GET_INFLIGHT_FD=31, SET_INFLIGHT_FD=32, RESET_DEVICE=34, GET_MAX_MEM_SLOTS=36,
         ADD_MEM_REG=37, REM_MEM_REG=38)
FD_MEM, FD_EVENT, FD_EVENT_BLOCKING, FD_SOCKET, FD_NULL, FD_GRANTS, FD_INFLIGHT, FD_EMPTY = range(8)
UADDR = 0x7f0000000000
PROTO = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 9) | (1 << 12) | (1 << 13) | (1 << 15)
FEAT = (1 << 32) | (1 << 30) | (1 << 28) | (1 << 29)


def ring_image():
    """A queue of 4 at offset 0 of guest memory: one two-descriptor chain available."""
    img = bytearray(0x80)
    img[0x00:0x10] = desc(0x1000, 0x100, F_NEXT, 1)
    img[0x10:0x20] = desc(0x2000, 0x200, F_WRITE, 0)
    img[0x40:0x46] = u16(0) + u16(1) + u16(0)
    return bytes(img)


class Vhost:
    def __init__(self, cfg=0, timeout=0):
        self.b = bytearray([cfg, timeout])

    def msg(self, req, payload=b'', fds=(), flags=0, size=None):
        self.b += bytes([V[req] if isinstance(req, str) else req, flags, len(fds)])
        for fd in fds:
            kind, arg = fd[0], fd[1]
            self.b += bytes([kind, arg])
            if kind in (FD_MEM, FD_INFLIGHT, FD_EMPTY):
                content = fd[2] if len(fd) > 2 else b''
                self.b += bytes([len(content)]) + content
        self.b += u16(len(payload) if size is None else size) + payload
        return self

    def end(self):
        """End this connection; the next messages go to a new one."""
        self.b += bytes([0xff])
        return self

    def negotiate(self, features=FEAT, proto=PROTO):
        self.msg('GET_FEATURES').msg('GET_PROTOCOL_FEATURES')
        self.msg('SET_PROTOCOL_FEATURES', u64(proto), flags=8)
        self.msg('SET_FEATURES', u64(features)).msg('SET_OWNER')
        return self

    def mem_table(self, pages=16, seal=True):
        region = u64(0) + u64(pages * 4096) + u64(UADDR) + u64(0)
        return self.msg('SET_MEM_TABLE', u32(1) + u32(0) + region,
                        fds=[(FD_MEM, (pages - 1) | (0x80 if seal else 0), ring_image())])

    def queue(self, idx=0, num=4, base=UADDR, kick=True):
        self.msg('SET_VRING_NUM', u32(idx) + u32(num))
        self.msg('SET_VRING_ADDR', u32(idx) + u32(0) + u64(base) + u64(base + 0x50) +
                 u64(base + 0x40) + u64(0))
        self.msg('SET_VRING_BASE', u32(idx) + u32(0))
        self.msg('SET_VRING_CALL', u64(idx), fds=[(FD_EVENT, 0)])
        self.msg('SET_VRING_ENABLE', u32(idx) + u32(1))
        if kick:
            self.msg('SET_VRING_KICK', u64(idx), fds=[(FD_EVENT, 1)])
        return self


def vhost_seeds():
    s = {}
    s['negotiate'] = Vhost().negotiate().msg('GET_QUEUE_NUM').msg('GET_MAX_MEM_SLOTS').b
    s['queue-run'] = (Vhost().negotiate().mem_table().queue()
                      .msg('GET_VRING_BASE', u32(0) + u32(0)).b)
    s['queue-event-idx-2q'] = (Vhost(cfg=1).negotiate().mem_table().queue(0).queue(1)
                               .msg('GET_VRING_BASE', u32(1) + u32(0)).msg('RESET_DEVICE').b)
    s['config'] = (Vhost().negotiate().msg('GET_CONFIG', u32(0) + u32(16) + u32(0) + bytes(16))
                   .msg('GET_CONFIG', u32(56) + u32(8) + u32(0) + bytes(8))
                   .msg('SET_CONFIG', u32(0) + u32(4) + u32(0) + bytes(4))
                   .msg('GET_CONFIG', u32(60) + u32(8) + u32(0) + bytes(8)).b)
    s['add-rem-reg'] = (Vhost().negotiate()
                        .msg('ADD_MEM_REG', u64(0) + u64(0) + u64(0x4000) + u64(UADDR) + u64(0),
                             fds=[(FD_MEM, 3, ring_image())])
                        .msg('ADD_MEM_REG', u64(0) + u64(0x10000) + u64(0x2000) +
                             u64(UADDR + 0x10000) + u64(0x1000), fds=[(FD_MEM, 2)])
                        .queue()
                        .msg('REM_MEM_REG', u64(0) + u64(0x10000) + u64(0x2000) +
                             u64(UADDR + 0x10000) + u64(0x1000)).b)
    log = (Vhost().negotiate(features=FEAT | (1 << 26)).mem_table()
           .msg('SET_LOG_BASE', u64(0x1000) + u64(0), fds=[(FD_MEM, 0x80)]).queue())
    s['dirty-log'] = log.msg('GET_VRING_BASE', u32(0) + u32(0)).b
    s['inflight'] = (Vhost().negotiate().msg('GET_INFLIGHT_FD', u64(0) + u64(0) + u16(1) + u16(4) +
                                             u32(0))
                     .mem_table().queue().msg('GET_VRING_BASE', u32(0) + u32(0)).b)
    inflight_area = u64(0) + u16(1) + u16(4) + u16(0) + u16(0) + bytes([1]) + bytes(7) + u64(1)
    s['inflight-set'] = (Vhost().negotiate()
                         .msg('SET_INFLIGHT_FD', u64(128) + u64(0) + u16(1) + u16(4) + u32(0),
                              fds=[(FD_INFLIGHT, 0x81, inflight_area)])
                         .mem_table().queue().b)
    iotlb = (Vhost(cfg=4).negotiate(features=FEAT | (1 << 33))
             .msg('SET_BACKEND_REQ_FD', fds=[(FD_SOCKET, 0)]).mem_table()
             .msg('IOTLB_MSG', u64(0x100000) + u64(0x1000) + u64(UADDR) + bytes([3, 2]) + bytes(6))
             .msg('IOTLB_MSG', u64(0x200000) + u64(0x10000) + u64(UADDR) + bytes([3, 2]) + bytes(6))
             .queue(base=0x100000)
             .msg('IOTLB_MSG', u64(0x200000) + u64(0x1000) + u64(0) + bytes([0, 3]) + bytes(6)))
    s['iotlb'] = iotlb.msg('GET_VRING_BASE', u32(0) + u32(0)).b
    xen = PROTO | (1 << 17)
    xen_region = lambda gpa, size, uaddr, flags, domid: (u64(gpa) + u64(size) + u64(uaddr) +
                                                         u64(0) + u32(flags) + u32(domid))
    s['xen-grants'] = (Vhost(cfg=8).negotiate(proto=xen)
                       .msg('ADD_MEM_REG', u64(0) + xen_region(0, 0x10000, UADDR, 1, 1),
                            fds=[(FD_MEM, 15, ring_image())])
                       .msg('ADD_MEM_REG', u64(0) + xen_region(1 << 40, 0x10000, UADDR + (1 << 32),
                                                               2, 1),
                            fds=[(FD_GRANTS, 15)])
                       .queue()
                       .msg('GET_VRING_BASE', u32(0) + u32(0)).b)
    s['xen-grant-rings'] = (Vhost(cfg=8).negotiate(proto=xen)
                            .msg('ADD_MEM_REG', u64(0) + xen_region(0, 0x10000, UADDR, 1, 1),
                                 fds=[(FD_MEM, 15, ring_image())])
                            .msg('ADD_MEM_REG', u64(0) + xen_region(1 << 40, 0x10000,
                                                                    UADDR + (1 << 32), 2, 1),
                                 fds=[(FD_GRANTS, 15)])
                            .queue(base=UADDR + (1 << 32)).b)
    foreign = lambda v: v.msg('ADD_MEM_REG', u64(0) + xen_region(0, 0x10000, UADDR, 1, 1),
                              fds=[(FD_MEM, 15 | 0x80, ring_image())])
    grants = lambda v, gpa: v.msg('ADD_MEM_REG', u64(0) + xen_region(gpa, 0x10000,
                                                                     UADDR + (1 << 32), 2, 1),
                                  fds=[(FD_GRANTS, 15)])
    # A second tenant's grant region, with the first tenant's RAM gone.
    two = foreign(Vhost(cfg=8).negotiate(proto=xen))
    two = grants(two, 1 << 40).queue(base=UADDR + (1 << 32)).end().negotiate(proto=xen)
    s['two-tenants-grants'] = grants(two, 1 << 40).queue(base=UADDR + (1 << 32)).b
    rem = grants(foreign(Vhost(cfg=8).negotiate(proto=xen)), 1 << 40)
    rem.msg('REM_MEM_REG', u64(0) + xen_region(0, 0x10000, UADDR, 1, 1))
    s['rem-foreign-then-grants'] = grants(rem, 1 << 41).b
    s['reconnect-new-table'] = (Vhost().negotiate().mem_table().queue()
                                .msg('GET_VRING_BASE', u32(0) + u32(0)).end()
                                .negotiate().mem_table(pages=8).queue()
                                .msg('GET_VRING_BASE', u32(0) + u32(0)).end()
                                .negotiate(features=FEAT | (1 << 26)).mem_table()
                                .msg('SET_LOG_BASE', u64(0x1000) + u64(0), fds=[(FD_MEM, 0x80)])
                                .msg('GET_INFLIGHT_FD', u64(0) + u64(0) + u16(1) + u16(4) + u32(0))
                                .queue().b)
    # A packed ring restarted over an in-flight area that claims chains in
    # flight: one good, one linked past the pool, one pointing at a used id.
    area = (u64(0) + u16(2) + u16(4) + u16(0x8002) + u16(0x8000) + u16(0x8000) + u16(1) +
            u16(3) + bytes(10))
    for inflight, first, ndesc, counter in ((1, 0, 1, 5), (1, 1, 2, 3), (1, 7, 1, 4), (0, 0, 0, 0)):
        area += bytes([inflight, 0]) + u16(first) + u16(ndesc) + u16(0) + u64(counter)
    for addr, ln, did, flags, nxt in ((0x2000, 0x40, 0, 4, 1), (0x1000, 0x100, 1, 1, 2),
                                      (0x3000, 0x10, 1, 2, 3), (0, 0, 0, 0, 0xffff)):
        area += u64(addr) + u32(ln) + u16(did) + u16(flags) + u16(nxt) + bytes(6)
    s['inflight-packed'] = (Vhost().negotiate(features=FEAT | (1 << 34))
                            .msg('SET_INFLIGHT_FD', u64(192) + u64(0) + u16(1) + u16(4) + u32(0),
                                 fds=[(FD_INFLIGHT, 0x81, area)])
                            .mem_table().queue().msg('GET_VRING_BASE', u32(0) + u32(0)).end()
                            .negotiate(features=FEAT | (1 << 34))
                            .msg('SET_INFLIGHT_FD', u64(192) + u64(0) + u16(1) + u16(4) + u32(0),
                                 fds=[(FD_INFLIGHT, 0x81, area)])
                            .mem_table().queue().b)
    s['log-unsealed'] = (Vhost().negotiate(features=FEAT | (1 << 26)).mem_table()
                         .msg('SET_LOG_BASE', u64(0x1000) + u64(0), fds=[(FD_MEM, 0)]).queue().b)
    bad = Vhost().negotiate()
    bad.msg('SET_VRING_NUM', u32(0) + u32(3))
    s['bad-vring-num'] = bad.b
    s['bad-version'] = Vhost().msg('GET_FEATURES', flags=0x82).b
    s['oversize'] = Vhost().msg('SET_MEM_TABLE', b'', size=0x8000).b
    s['short-payload'] = Vhost().msg('SET_FEATURES', u32(0)).b
    s['unknown-request'] = Vhost().negotiate().msg(99).msg(19).b
    s['fds-nobody-takes'] = Vhost().msg('GET_FEATURES', fds=[(FD_EVENT, 0), (FD_NULL, 0),
                                                             (FD_EMPTY, 0)]).b
    s['mem-bad-fds'] = (Vhost().negotiate()
                        .msg('SET_MEM_TABLE', u32(1) + u32(0) + u64(0) + u64(0x10000) +
                             u64(UADDR) + u64(0), fds=[(FD_NULL, 0)])).b
    s['mem-too-small'] = (Vhost().negotiate()
                          .msg('SET_MEM_TABLE', u32(1) + u32(0) + u64(0) + u64(0x10000) +
                               u64(UADDR) + u64(0), fds=[(FD_MEM, 0)])).b
    s['reset-owner'] = Vhost().negotiate().mem_table().queue().msg('RESET_OWNER').queue().b
    s['vring-err-socket-kick'] = (Vhost().negotiate().mem_table()
                                  .msg('SET_VRING_ERR', u64(0), fds=[(FD_EVENT, 0)])
                                  .queue(kick=False)
                                  .msg('SET_VRING_KICK', u64(0), fds=[(FD_SOCKET, 0)])
                                  .msg('GET_VRING_BASE', u32(0) + u32(0)).b)
    return s


# ---- fuzz_gnttab: a granter and a backend taking turns ------------------------

G = dict(read=0, write=2, wide=3, map=4, unmap=5, cache=6, invalidate=7, flush=8, grant=9,
         end=10, poke_entry=11, poke_header=12, poke_active=13, guest_write=14)


def gop(name, a=0, b=0, c=0, d=0):
    return bytes([G[name], a, b, c, d])


def gnttab_seeds():
    s = {}
    start = bytes([0, 0xff, 0])           # no eviction, no pre-attach store
    grant_all = b''.join(gop('grant', r, r, 0, 0) for r in range(8))
    s['grant-read-write'] = start + grant_all + gop('read', 1, 0x10, 0, 9) + \
        gop('write', 2, 0, 0, 200) + gop('read', 2, 0, 0, 200) + gop('end', 3) + gop('end', 1)
    s['readonly'] = start + gop('grant', 4, 9, 0, 2) + gop('write', 4, 0, 0, 1) + \
        gop('read', 4, 0, 0, 1) + gop('write', 4, 0, 0, 1)
    s['other-domain'] = start + gop('grant', 5, 3, 0, 1) + gop('read', 5, 0, 0, 1)
    s['revoke-regrant'] = start + grant_all + gop('read', 3, 0, 0, 3) + gop('end', 3) + \
        gop('invalidate', 3, 0) + gop('end', 3) + gop('grant', 3, 12, 0, 0) + \
        gop('read', 3, 0, 0, 3) + gop('guest_write', 12, 0, 0x77, 8) + gop('read', 3, 0, 0, 3)
    s['held-map-cache'] = start + grant_all + gop('map', 1, 0, 1, 0x80) + \
        gop('cache', 2, 0x20, 0, 0) + gop('end', 1) + gop('end', 2) + gop('invalidate', 0, 7) + \
        gop('read', 1, 0, 0, 5) + gop('unmap', 0, 0x33) + gop('cache', 0, 0, 0, 0) + gop('flush')
    s['wide'] = start + grant_all + gop('wide', 0, 0x00, 0x08, 0x40) + \
        gop('wide', 6, 0, 0, 0xc0) + gop('read', 7, 0, 0, 5)
    s['beyond-table'] = start + grant_all + gop('read', 17, 0, 0, 1) + gop('read', 0xe3, 0, 0, 1)
    s['eviction'] = bytes([1, 0xff, 0]) + grant_all + b''.join(
        gop('read', r, 0, 0, 1) for r in range(8)) + gop('end', 0) + gop('read', 0, 0, 0, 1)
    s['deferred-unmap'] = bytes([3, 0xff, 0]) + grant_all + b''.join(
        gop('read', r % 8, 0, 0, 1) for r in range(20)) + gop('flush')
    s['hostile-entry'] = start + grant_all + gop('read', 1, 0, 0, 1) + \
        gop('poke_entry', 1, 2, 9, 0) + gop('read', 1, 0, 0, 1) + gop('poke_entry', 2, 1, 3, 0) + \
        gop('read', 2, 0, 0, 1) + gop('poke_entry', 3, 0, 5, 0) + gop('write', 3, 0, 0, 1) + \
        gop('poke_entry', 4, 3, 0xff, 0xff) + gop('read', 4, 0, 0, 1)
    s['hostile-flags'] = start + grant_all + gop('map', 1, 0, 0, 0x81) + \
        gop('poke_entry', 1, 0, 1, 0) + gop('end', 1) + gop('grant', 1, 9, 0, 0) + \
        gop('read', 1, 0, 0, 1) + gop('unmap', 1, 0)
    s['invalidate-pinned-flush'] = start + gop('grant', 2, 2, 0, 0) + gop('cache', 2, 0, 2, 0) + \
        gop('invalidate', 2, 0) + gop('read', 2, 5, 5, 112) + gop('flush') + \
        gop('cache', 2, 0, 0, 0) + gop('end', 2)
    s['read-prefers-readonly'] = start + gop('grant', 0, 0, 0, 0) + gop('read', 0, 24, 0, 0) + \
        gop('cache', 0, 0xd8, 0xd8, 0x80) + gop('cache', 0, 0xd8, 0xd8, 0x80) + \
        gop('cache', 0, 0xd8, 0x17, 0x17) + gop('flush') + gop('write', 0, 0, 9, 23) + \
        gop('flush') + gop('read', 0, 23, 23, 7)
    s['hostile-active'] = start + grant_all + gop('read', 1, 0, 0, 1) + \
        gop('poke_active', 1, 0, 0, 1) + gop('invalidate', 1, 0) + gop('end', 1)
    return s


# ---- fuzz_blk: virtio-blk requests on a queue over 64 KiB of RAM ------------

BLK_T_IN, BLK_T_OUT, BLK_T_FLUSH, BLK_T_GET_ID, BLK_T_DISCARD, BLK_T_WZ = 0, 1, 4, 8, 11, 13


def blk_input(requests, size_log2=3, features=0, readonly=False, indirect_first=False):
    """requests: list of (header bytes, data bytes or None, writable data length, extra out)."""
    image = bytearray(0x8000)
    heads, idx, buf = [], 0, 0x1000
    for hdr, data, in_len, extra in requests:
        head = idx
        descs = []
        image[buf:buf + len(hdr)] = hdr
        descs.append((buf, len(hdr), F_NEXT))
        buf += 0x100
        for blob in [b for b in (data, extra) if b]:
            image[buf:buf + len(blob)] = blob
            descs.append((buf, len(blob), F_NEXT))
            buf += (len(blob) + 0xff) & ~0xff
        if in_len:
            descs.append((buf, in_len, F_NEXT | F_WRITE))
            buf += (in_len + 0xff) & ~0xff
        descs.append((buf, 1, F_WRITE))           # status
        buf += 0x10
        if indirect_first and not heads:
            table = buf
            for i, (a, n, f) in enumerate(descs):
                image[table + 16 * i:table + 16 * i + 16] = desc(a, n, f & ~F_NEXT | (F_NEXT if i + 1 < len(descs) else 0), i + 1)
            buf += 16 * len(descs)
            image[VQ_DESC + 16 * idx:VQ_DESC + 16 * idx + 16] = desc(table, 16 * len(descs), F_INDIRECT)
            idx += 1
        else:
            for i, (a, n, f) in enumerate(descs):
                last = i + 1 == len(descs)
                image[VQ_DESC + 16 * idx:VQ_DESC + 16 * idx + 16] = desc(a, n, f & ~F_NEXT if last else f, idx + 1)
                idx += 1
        heads.append(head)
    image[VQ_AVAIL:VQ_AVAIL + 4] = u16(0) + u16(len(heads))
    for i, h in enumerate(heads):
        image[VQ_AVAIL + 4 + 2 * i:VQ_AVAIL + 6 + 2 * i] = u16(h)
    hdr = bytes([size_log2, features]) + u16(VQ_DESC) + u16(VQ_AVAIL) + u16(VQ_USED)
    hdr += bytes([1 if readonly else 0]) + u16(0)
    return hdr + bytes(image).rstrip(b'\0')


def blk_hdr(t, sector=0):
    return u32(t) + u32(0) + u64(sector)


def blk_seeds():
    data = bytes((i * 13 + 5) & 0xff for i in range(1024))
    seg = lambda sector, n, flags=0: u64(sector) + u32(n) + u32(flags)
    s = {}
    s['write-read'] = blk_input([(blk_hdr(BLK_T_OUT, 3), data, 0, None),
                                 (blk_hdr(BLK_T_IN, 3), None, 1024, None)])
    s['read-end-of-disk'] = blk_input([(blk_hdr(BLK_T_IN, 127), None, 1024, None)])
    s['flush-getid'] = blk_input([(blk_hdr(BLK_T_FLUSH), None, 0, None),
                                  (blk_hdr(BLK_T_GET_ID), None, 20, None)])
    s['discard-zeroes'] = blk_input([(blk_hdr(BLK_T_DISCARD), None, 0, seg(4, 8)),
                                     (blk_hdr(BLK_T_WZ), None, 0, seg(16, 4, 1))], features=1)
    s['readonly-write'] = blk_input([(blk_hdr(BLK_T_OUT, 0), data[:512], 0, None)], readonly=True)
    s['indirect'] = blk_input([(blk_hdr(BLK_T_OUT, 9), data[:512], 0, None),
                               (blk_hdr(BLK_T_IN, 9), None, 512, None)], features=3,
                              indirect_first=True)
    s['unknown-type'] = blk_input([(blk_hdr(99), None, 16, None)])
    s['short-header'] = blk_input([(blk_hdr(BLK_T_IN)[:8], None, 512, None)])
    return s


TARGETS = {
    'fuzz_blk': blk_seeds,
    'fuzz_mtree': mtree_seeds,
    'fuzz_model': model_seeds,
    'fuzz_virtq': virtq_seeds,
    'fuzz_vhost': vhost_seeds,
    'fuzz_gnttab': gnttab_seeds,
}


def main(argv):
    for t in argv[1:] or TARGETS:
        if t not in TARGETS:
            sys.exit('unknown target ' + t)
        seeds = TARGETS[t]()
        write_seeds(t, seeds)
        print('%s: %d seeds' % (t, len(seeds)))


if __name__ == '__main__':
    main(sys.argv)
