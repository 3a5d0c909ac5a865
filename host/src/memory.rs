//! The component's linear memory on Linux: wasmtime's layout (one
//! reservation with an inaccessible guard before and after it, growth in
//! place), with the part past [`HUGE_FROM`] backed by transparent huge
//! pages.
//!
//! A getAll holds its largest message whole in the component's memory, and
//! that memory is touched for the first time as the message arrives: for the
//! benchmark's 15 MB message, about 3,600 page faults of 4 KiB, 8% of the
//! reading thread's time. Linux distributions enable transparent huge pages
//! only where a program asks (`madvise`); asked, one fault maps 2 MiB.
//! Measured on getAll of the benchmark's 2,000 messages: 5,100 page faults
//! became 2,000, and the process's CPU time fell by 5% (226 → 214 ms,
//! medians of 16 alternating runs). The first [`HUGE_FROM`] bytes keep
//! small pages, so that a read whose memory stays small (a getHeaderOnly)
//! is not rounded up to whole huge pages.
//!
//! A fault that finds no free 2 MiB page either falls back to a small page
//! or, under the kernel's default `defrag` setting for advised memory,
//! first compacts memory, which can take milliseconds. With free memory
//! (19 GiB on the machine measured) no fault did: `/proc/vmstat` counted no
//! `compact_stall` and no `thp_fault_fallback` over a whole `make bench`.
//!
//! The memory is what wasmtime's own would be: zero-filled, never moved
//! (the whole reservation wasmtime asks for, 4 GiB for a 32-bit memory, is
//! made at once, and growth past it is refused where wasmtime would move
//! the memory), inaccessible beyond its size, and grown only when wasmtime
//! asks, after the store's limits allowed it. Its initial contents (the
//! component's 216 KB of data) are copied in at each instantiation, where
//! wasmtime maps them copy-on-write into memories of its own only: `open` +
//! close measured the same in `make bench` (25.7 against 24.3 ms the run
//! before, within the run-to-run spread).

use std::ffi::c_void;
use std::ptr::{self, NonNull};

use rustix::mm::{self, Advice, MapFlags, MprotectFlags, ProtFlags};
use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

/// Offset in the memory from which it is backed by huge pages.
pub(crate) const HUGE_FROM: usize = 4 << 20;

/// Makes the component's memories ([`Memory`]).
#[derive(Debug, Default)]
pub(crate) struct HugePageMemories;

// SAFETY: every memory is a fresh private mapping owned by its `Memory`,
// zero-filled, with `guard_size` inaccessible bytes before and after the
// reservation (`Memory`'s safety comment).
unsafe impl MemoryCreator for HugePageMemories {
    fn new_memory(
        &self,
        _ty: MemoryType,
        minimum: usize,
        maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        Memory::new(
            minimum,
            maximum,
            reserved_size_in_bytes,
            guard_size_in_bytes,
        )
        .map(|memory| Box::new(memory) as Box<dyn LinearMemory>)
    }
}

/// One linear memory: a guard, `reserved` bytes from `base`, and a guard
/// after them; the first `len` bytes (rounded up to whole pages) are
/// accessible.
#[derive(Debug)]
struct Memory {
    /// Where the mapping starts: the guard before the memory.
    mapping: NonNull<u8>,
    base: NonNull<u8>,
    /// Accessible bytes, as wasmtime counts them.
    len: usize,
    /// Bytes the memory can grow to without moving.
    reserved: usize,
    /// The whole mapping: both guards and `reserved`.
    mapped: usize,
    maximum: Option<usize>,
}

// SAFETY: `Memory` owns its mapping; wasmtime synchronises every access to
// the memory's contents and calls `grow_to` with exclusive access.
unsafe impl Send for Memory {}
// SAFETY: as above; `&Memory` only reads the fields.
unsafe impl Sync for Memory {}

/// `n` rounded up to whole host pages, `None` on overflow.
fn pages(n: usize) -> Option<usize> {
    let page = rustix::param::page_size();
    n.checked_next_multiple_of(page)
}

impl Memory {
    fn new(
        minimum: usize,
        maximum: Option<usize>,
        reserved: Option<usize>,
        guard: usize,
    ) -> Result<Self, String> {
        // wasmtime 48 always gives a reservation; without one, reserve the
        // most the memory may grow to.
        let reserved = reserved.or(maximum).unwrap_or(minimum).max(minimum);
        let reserved = pages(reserved).ok_or("the memory's reservation overflows")?;
        let guard = pages(guard).ok_or("the guard overflows")?;
        let mapped = guard
            .checked_mul(2)
            .and_then(|guards| guards.checked_add(reserved))
            .ok_or("the memory's reservation overflows")?;
        // SAFETY: a new anonymous mapping at an address the kernel picks,
        // inaccessible until `grow_to` makes its pages accessible.
        let mapping = unsafe {
            mm::mmap_anonymous(
                ptr::null_mut(),
                mapped,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::NORESERVE,
            )
        }
        .map_err(|e| format!("cannot reserve {mapped} bytes for the component's memory: {e}"))?;
        let mapping = NonNull::new(mapping.cast::<u8>()).ok_or("mmap returned null")?;
        // SAFETY: `guard` bytes into the mapping just made.
        let base = unsafe { mapping.add(guard) };
        let mut memory = Self {
            mapping,
            base,
            len: 0,
            reserved,
            mapped,
            maximum,
        };
        if reserved > HUGE_FROM {
            // SAFETY: the range lies inside the mapping just made; advice
            // changes how its pages are backed, never their contents.
            let advised = unsafe {
                mm::madvise(
                    base.as_ptr().add(HUGE_FROM).cast::<c_void>(),
                    reserved - HUGE_FROM,
                    Advice::LinuxHugepage,
                )
            };
            if let Err(e) = advised {
                // A kernel without transparent huge pages: small pages.
                tracing::debug!(error = %e, "no huge pages for the component's memory");
            }
        }
        memory.grow(minimum)?;
        Ok(memory)
    }

    /// Makes the first `new_size` bytes accessible.
    fn grow(&mut self, new_size: usize) -> Result<(), String> {
        if new_size > self.reserved || self.maximum.is_some_and(|max| new_size > max) {
            return Err(format!(
                "the component's memory cannot grow to {new_size} bytes (at most {})",
                self.maximum.unwrap_or(self.reserved).min(self.reserved)
            ));
        }
        let from = pages(self.len).ok_or("overflow")?;
        let to = pages(new_size).ok_or("overflow")?;
        if to > from {
            // SAFETY: `from..to` lies inside the reservation (checked above)
            // and is not yet accessible; nothing refers to it.
            unsafe {
                mm::mprotect(
                    self.base.as_ptr().add(from).cast::<c_void>(),
                    to - from,
                    MprotectFlags::READ | MprotectFlags::WRITE,
                )
            }
            .map_err(|e| format!("cannot grow the component's memory to {new_size} bytes: {e}"))?;
        }
        self.len = new_size;
        Ok(())
    }
}

// SAFETY: `as_ptr` is the base of `byte_capacity` reserved bytes, with the
// guard wasmtime asked for before and after them; the first `byte_size`
// bytes are accessible and the rest of the mapping is not; the base never
// moves.
unsafe impl LinearMemory for Memory {
    fn byte_size(&self) -> usize {
        self.len
    }

    fn byte_capacity(&self) -> usize {
        self.reserved
    }

    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        self.grow(new_size).map_err(wasmtime::Error::msg)
    }

    fn as_ptr(&self) -> *mut u8 {
        self.base.as_ptr()
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: the mapping is this memory's alone, and wasmtime drops the
        // memory only once nothing uses it.
        let unmapped = unsafe { mm::munmap(self.mapping.as_ptr().cast::<c_void>(), self.mapped) };
        if let Err(e) = unmapped {
            tracing::warn!(error = %e, "cannot unmap the component's memory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const GUARD: usize = 2 << 20;

    #[test]
    fn memory_grows_in_place_zeroed_up_to_its_reservation() {
        let mut memory = Memory::new(64 << 10, None, Some(64 << 20), GUARD).expect("memory");
        assert_eq!(memory.byte_size(), 64 << 10);
        assert_eq!(memory.byte_capacity(), 64 << 20);
        // SAFETY: the first 64 KiB are accessible.
        unsafe { memory.as_ptr().write(42) };
        memory.grow_to(20 << 20).expect("grow");
        // SAFETY: the first 20 MiB are accessible now.
        let bytes = unsafe { std::slice::from_raw_parts_mut(memory.as_ptr(), 20 << 20) };
        assert_eq!(bytes[0], 42, "what was written stays where it was");
        // Below and above HUGE_FROM alike: zero, then what was written.
        for at in [1, HUGE_FROM - 1, HUGE_FROM, (20 << 20) - 1] {
            assert_eq!(bytes[at], 0, "zero at {at}");
            bytes[at] = 7;
            assert_eq!(bytes[at], 7);
        }
        assert!(
            memory.grow_to((64 << 20) + 1).is_err(),
            "past the reservation"
        );
        assert_eq!(memory.byte_size(), 20 << 20, "unchanged by a refused grow");
    }

    /// The kernel's flags for the mapping that holds `at` (`hg`: advised
    /// for huge pages).
    fn vm_flags(at: *mut u8) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let at = at as usize;
        // A mapping's first line starts `start-end `, in hexadecimal.
        let holds = |line: &str| {
            let range = line.split(' ').next().unwrap_or_default();
            let (start, end) = range.split_once('-')?;
            let start = usize::from_str_radix(start, 16).ok()?;
            let end = usize::from_str_radix(end, 16).ok()?;
            Some((start..end).contains(&at))
        };
        let mut inside = false;
        for line in smaps.lines() {
            if let Some(holds) = holds(line) {
                inside = holds;
            } else if let Some(flags) = line.strip_prefix("VmFlags:").filter(|_| inside) {
                return flags.trim().to_owned();
            }
        }
        panic!("no mapping holds {at:#x}");
    }

    /// Whether this kernel has transparent huge pages (built in; whether
    /// it uses them for advised memory is its `enabled` setting).
    fn kernel_has_huge_pages() -> bool {
        Path::new("/sys/kernel/mm/transparent_hugepage").is_dir()
    }

    #[test]
    fn only_the_memory_past_huge_from_is_advised_for_huge_pages() {
        let mut memory = Memory::new(64 << 10, None, Some(64 << 20), GUARD).expect("memory");
        memory.grow_to(32 << 20).expect("grow");
        let base = memory.as_ptr();
        let flags = |offset: usize| vm_flags(base.wrapping_add(offset));
        let advised = |offset: usize| flags(offset).split(' ').any(|f| f == "hg");
        for offset in [0, HUGE_FROM - 1] {
            assert!(!advised(offset), "{offset}: {}", flags(offset));
        }
        // Advised where the kernel has huge pages; where it has none the
        // advice fails and the memory keeps small pages (`Memory::new`).
        for offset in [HUGE_FROM, (32 << 20) - 1] {
            assert_eq!(
                advised(offset),
                kernel_has_huge_pages(),
                "{offset}: {}",
                flags(offset)
            );
            assert!(flags(offset).contains("rd wr"), "{}", flags(offset));
        }
        // Reserved but not grown into, and the guards on both sides:
        // neither readable nor writable.
        for at in [
            base.wrapping_add(40 << 20),
            base.wrapping_sub(1),
            base.wrapping_add((64 << 20) + GUARD - 1),
        ] {
            let flags = vm_flags(at);
            assert!(!flags.contains("rd"), "{at:?}: {flags}");
        }
    }

    #[test]
    fn memory_stops_at_its_maximum() {
        let mut memory = Memory::new(0, Some(1 << 20), Some(64 << 20), GUARD).expect("memory");
        memory.grow_to(1 << 20).expect("to the maximum");
        let e = memory
            .grow_to((1 << 20) + 65536)
            .expect_err("past the maximum");
        assert!(e.to_string().contains("cannot grow"), "{e}");
    }
}
