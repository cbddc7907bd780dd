// glibc's heap statistics and trimming: Swift's Glibc module leaves malloc.h out.
#include <malloc.h>
#include <stddef.h>

/// Bytes malloc has handed out and not had back: what live objects hold, without the freed memory that
/// resident size still counts.
static inline size_t pixeledge_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}

/// Gives the free pages of the heap back to the system (after loading every pixel, say, whose temporaries
/// would otherwise stay resident).
static inline void pixeledge_release_free_memory(void) {
    malloc_trim(0);
}
