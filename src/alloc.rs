//! The global allocator of the `gardengate` binary: the system allocator, plus a request for
//! transparent huge pages on large blocks.
//!
//! At ten million consumers the hot loops read the graph, the listing cards and the
//! consumers' holdings at random; with 4 KiB pages nearly every such read also misses the
//! TLB and waits for a page walk (the profile showed prefetches stalling on them). Linux
//! machines commonly run transparent huge pages in `madvise` mode, so large blocks are
//! advised before their pages are first touched. Advice only: results cannot change, and
//! where the kernel declines (or on other systems) nothing happens.

use std::alloc::{GlobalAlloc, Layout, System};

/// System allocator that advises huge pages for blocks of at least `MIN_BYTES`.
pub struct HugePages;

/// Blocks smaller than this are left alone (a huge page is 2 MiB).
const MIN_BYTES: usize = 8 << 20;

// SAFETY: every call is forwarded to `System` unchanged; `advise` only gives the kernel a hint
// about memory this allocator has just handed out.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise(p, new_size);
        p
    }
}

/// Asks for huge pages on the 2 MiB-aligned interior of a large block.
#[inline]
fn advise(p: *mut u8, size: usize) {
    if p.is_null() || size < MIN_BYTES {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (p as usize).next_multiple_of(HUGE);
        let end = (p as usize + size) & !(HUGE - 1);
        if end > start {
            // SAFETY: the range lies inside a block just allocated to us; MADV_HUGEPAGE only
            // changes how the kernel backs it, never its contents. Failure is harmless.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}
