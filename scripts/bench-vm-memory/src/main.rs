// SPDX-License-Identifier: MIT
//! The vm-memory side of scripts/bench-vm-memory.sh.
//!
//! Usage: bench-vm-memory NREG
//!
//! Runs the workload that guestmem_side.c runs on guestmem, on rust-vmm's
//! vm-memory (GuestMemoryMmap), and prints one line "ROW NS" per row: the
//! mean nanoseconds per access over NR_ACCESSES random accesses. The
//! workload (regions, addresses, warm-up) is described in guestmem_side.c;
//! both programs draw the same addresses from the same generator. Rows:
//! read_4k (read_slice), ld_u64 (read_obj), lookup (find_region on the
//! immutable GuestMemoryMmap) and lookup_atomic (find_region through
//! GuestMemoryAtomic::memory(), the guard a reader of a changing map takes).

use std::time::Instant;

use vm_memory::{
    Address, Bytes, GuestAddress, GuestAddressSpace, GuestMemory, GuestMemoryAtomic,
    GuestMemoryMmap, GuestMemoryRegion,
};

const TOTAL: u64 = 256 << 20;
const NR_ACCESSES: usize = 1 << 21;
const WARMUP: usize = NR_ACCESSES / 8;
const PAGE: usize = 4096;

/// xorshift64*, as guestmem_side.c.
fn rng_next(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// NR_ACCESSES guest addresses, each a multiple of `align` inside a random
/// region, with the access of `align` bytes inside the region too.
fn draw(nreg: u64, align: u64, seed: u64) -> Vec<u64> {
    let size = TOTAL / nreg;
    let mut state = 0x9e37_79b9_7f4a_7c15 ^ seed;
    (0..NR_ACCESSES)
        .map(|_| {
            let x = rng_next(&mut state);
            let region = (x >> 32) % nreg;
            let offset = ((x & 0xffff_ffff) % (size / align)) * align;
            region * 2 * size + offset
        })
        .collect()
}

/// Runs `op` over the first WARMUP addresses untimed, then over all of them
/// timed; returns ns per access and the accumulated value (printed, so the
/// compiler cannot drop the accesses).
fn time<F: FnMut(u64) -> u64>(addrs: &[u64], mut op: F) -> (f64, u64) {
    let mut acc = 0u64;
    for &a in &addrs[..WARMUP] {
        acc = acc.wrapping_add(op(a));
    }
    let t0 = Instant::now();
    for &a in addrs {
        acc = acc.wrapping_add(op(a));
    }
    let ns = t0.elapsed().as_nanos() as f64 / addrs.len() as f64;
    (ns, acc)
}

fn main() {
    let nreg: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|&n: &u64| n >= 1 && n <= 65536 && (TOTAL / n) % PAGE as u64 == 0)
        .unwrap_or_else(|| {
            eprintln!("usage: bench-vm-memory NREG (a divisor of 65536)");
            std::process::exit(2)
        });
    let size = TOTAL / nreg;
    let ranges: Vec<(GuestAddress, usize)> =
        (0..nreg).map(|i| (GuestAddress(i * 2 * size), size as usize)).collect();
    let mem: GuestMemoryMmap<()> = GuestMemoryMmap::from_ranges(&ranges).expect("guest memory");

    // Every page faulted in, and not the shared zero page.
    let fill = vec![0x5au8; PAGE];
    for &(start, len) in &ranges {
        for off in (0..len).step_by(PAGE) {
            mem.write_slice(&fill, start.unchecked_add(off as u64)).expect("fill");
        }
    }

    let mut sink = 0u64;
    let mut buf = [0u8; PAGE];
    let addrs = draw(nreg, PAGE as u64, 1);
    let (ns, acc) = time(&addrs, |a| {
        mem.read_slice(&mut buf, GuestAddress(a)).expect("read_slice");
        buf[a as usize % PAGE] as u64
    });
    println!("read_4k {:.2}", ns);
    sink = sink.wrapping_add(acc);

    let addrs = draw(nreg, 8, 2);
    let (ns, acc) = time(&addrs, |a| mem.read_obj::<u64>(GuestAddress(a)).expect("read_obj"));
    println!("ld_u64 {:.2}", ns);
    sink = sink.wrapping_add(acc);

    let addrs = draw(nreg, 1, 3);
    let (ns, acc) = time(&addrs, |a| {
        mem.find_region(GuestAddress(a)).expect("find_region").start_addr().raw_value()
    });
    println!("lookup {:.2}", ns);
    sink = sink.wrapping_add(acc);

    // The same lookups on a map that can change: GuestMemoryAtomic, whose
    // memory() guard is what a reader takes before each access.
    let atomic = GuestMemoryAtomic::new(mem.clone());
    let (ns, acc) = time(&addrs, |a| {
        atomic.memory().find_region(GuestAddress(a)).expect("find_region").start_addr().raw_value()
    });
    println!("lookup_atomic {:.2}", ns);
    sink = sink.wrapping_add(acc);
    eprintln!("checksum {:x}", sink);
}
