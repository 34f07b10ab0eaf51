// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm: the scenarios users of GPU shared virtual memory run into.
 *
 * Where vsvm_test.c takes the mm operations one by one, these cases are what
 * an application does with a GPU that shares its address space, in the
 * manner of IGT's system-allocator tests and kfdtest's SVM tests: hand the
 * GPU whatever memory it has (malloc(), the stack, aligned_alloc(), shared
 * and file mappings, huge pages), free and reuse it, run jobs from several
 * threads and processes, advise where memory should live, overcommit VRAM,
 * unbind the device under a running process and share VRAM between two
 * devices. Each case checks what the application observes: the bytes the
 * CPU and the GPU read back, how jobs end and where they fault, and the
 * device's counters before and after.
 *
 * Needs /dev/dri/renderD128 (device 0); the cases with two devices skip
 * without renderD129, and those that unbind devices need to run as root.
 * They run under software emulation with a debug kernel: buffers are small,
 * and every deadline is a hang detector, never a speed check.
 *
 * Besides the uAPI header, the cases rely on these driver behaviours:
 *
 * - A job walks its span upwards and stops at the first word it cannot
 *   access: &drm_vsvm_exec.fault_addr is that word's address and nothing at
 *   or past it is written; an atomic job on a DRM_VSVM_ATOMIC_DEVICE span
 *   that reaches a page which cannot move to VRAM stops there the same way.
 * - Only private anonymous memory, including the copied-on-write pages of a
 *   private file mapping, moves to VRAM; a job on any other mapping runs
 *   from system memory, whatever its flags. A job with DRM_VSVM_EXEC_VRAM
 *   on private anonymous pages of an otherwise idle device leaves them
 *   mapped from VRAM.
 * - An atomic job on a DRM_VSVM_ATOMIC_DEVICE span faults on pages the GPU
 *   maps from system memory already, and moves them to VRAM.
 * - A prefetch to VRAM succeeds while jobs of its VM fault in the same span
 *   or fill the VRAM: it evicts, or goes round again, rather than fail.
 * - GPU ranges are at most 2M, aligned to their size and within one VMA:
 *   a VMA of 64K-aligned pieces gets ranges that each lie in one piece.
 * - Each case's VM is new: the VM counters count only what the case did.
 * - The devices are bound by the driver named vsvm on the PCI or the
 *   platform bus; /sys/class/drm/renderD<N>/device leads to the device of
 *   each render node; an unbound device's node is gone once the unbind
 *   returns; a file of an unbound device fails every ioctl with ENODEV;
 *   unbinding evicts the VRAM to system memory; render minors are the
 *   lowest free, so that a device bound again once the files of its old
 *   instance are closed gets its old node back.
 * - The owner_group module parameter applies to the devices bound after it
 *   was written.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE			VSVM_PAGE_SIZE
#define SZ_64K			(64UL << 10)
#define SZ_2M			(2UL << 20)

/* What "did not hang" means under TCG with KASAN and lockdep. */
#define HANG_MS			10000

/* Render node minor of device 0, as vsvm_open() numbers them. */
#define FIRST_RENDER_MINOR	128

/* @x rounded up or down to a multiple of @align, a power of two. */
static uintptr_t align_up(uintptr_t x, uintptr_t align)
{
	return (x + align - 1) & ~(align - 1);
}

static uintptr_t align_down(uintptr_t x, uintptr_t align)
{
	return x & ~(align - 1);
}

/* A VM on one vsvm device, and the device's counters when it was opened. */
#include "vsvm_harness.h"

static int open_render_node(int minor)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Opens the device of render node @minor with a new VM; false if there is no
 * such node. Earlier cases' processes may still be freeing VRAM: the
 * counters are read once that is done (or HANG_MS passed), so that a case
 * sees its own VRAM.
 */
static bool gpu_open(struct __test_metadata *_metadata, struct vsvm_gpu *g,
		     int minor, bool vram)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;

	g->fd = open_render_node(minor);
	if (g->fd == -ENOENT) {
		g->fd = -1;
		return false;
	}
	ASSERT_LE(0, g->fd)
		TH_LOG("open renderD%d: %s", minor, strerror(-g->fd));
	ASSERT_EQ(0, vsvm_vm_create(g->fd, &g->vm))
		TH_LOG("renderD%d does not create VMs: not a vsvm device?",
		       minor);
	for (;;) {
		ASSERT_EQ(0, vsvm_stats(g->fd, 0, &g->start));
		if (!g->start.vram_pages_used || vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	g->vram = vram;
	return true;
}

/*
 * A job where ASSERT cannot be used (another thread, a child): true if the
 * ioctl and the job succeeded, else false with what happened in @why.
 */
static bool job_ok(const struct vsvm_gpu *g, struct drm_vsvm_exec *e,
		   char *why, size_t len)
{
	int ret = vsvm_exec(g->fd, e);

	if (!ret && !e->status)
		return true;
	if (ret)
		snprintf(why, len, "op %u: ioctl failed with %s", e->op,
			 strerror(-ret));
	else
		snprintf(why, len, "op %u: %s", e->op, job_end(e));
	return false;
}

/*
 * @size bytes of private anonymous memory at an @align-aligned address,
 * between PROT_NONE guards: a VMA of its own that merges with no neighbour,
 * so that the GPU ranges over it depend on the alignment only.
 */
static char *map_aligned(struct __test_metadata *_metadata, size_t size,
			 size_t align)
{
	char *resv, *buf;

	resv = mmap(NULL, size + 2 * align, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, resv);
	buf = (char *)align_up((uintptr_t)resv + PAGE, align);
	ASSERT_EQ(buf, mmap(buf, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	return buf;
}

/* Index of the first word i of @buf that is not word i of @seed + @inc, or -1. */
static long pattern_plus_mismatch(const __u32 *buf, size_t size, __u32 seed,
				  __u32 inc)
{
	size_t i;

	for (i = 0; i < size / 4; i++)
		if (buf[i] != vsvm_pattern_word(seed, i) + inc)
			return i;
	return -1;
}

/* Word i of @buf, read by the CPU, holds word i of pattern @seed + @inc. */
static void expect_pattern_plus(struct __test_metadata *_metadata,
				const __u32 *buf, size_t size, __u32 seed,
				__u32 inc, const char *what)
{
	long bad = pattern_plus_mismatch(buf, size, seed, inc);

	ASSERT_EQ(-1, bad)
		TH_LOG("%s: word %ld is %#x, expected %#x", what, bad,
		       buf[bad], vsvm_pattern_word(seed, bad) + inc);
}

/* Pages the bytes [@p, @p + @size) touch. */
static size_t pages_spanned(const void *p, size_t size)
{
	uintptr_t start = align_down((uintptr_t)p, PAGE);
	uintptr_t end = align_up((uintptr_t)p + size, PAGE);

	return (end - start) / PAGE;
}

/* Where a job may leave the pages of a span. */
enum where {
	/* VRAM for DRM_VSVM_EXEC_VRAM jobs, else system memory. */
	MIGRATABLE,
	/* System memory whatever the job asks: shared and file pages. */
	SYSTEM_ONLY,
	/*
	 * As MIGRATABLE, but the CPU may take the pages back before the
	 * case looks: the stack, touched by the ioctl's own return.
	 */
	ANYWHERE,
};

/*
 * The VM maps the @pages pages a job just used where @where says, for a job
 * with or without DRM_VSVM_EXEC_VRAM.
 */
static void expect_where(struct __test_metadata *_metadata,
			 const struct vsvm_gpu *g, enum where where,
			 size_t pages)
{
	struct drm_vsvm_stats st = stats_of(_metadata, g);

	if (g->vram && where == ANYWHERE)
		return;
	if (g->vram && where == MIGRATABLE) {
		ASSERT_LE(pages, st.vm_vram_pages_mapped)
			TH_LOG("%zu pages should be mapped from VRAM, %llu are",
			       pages,
			       (unsigned long long)st.vm_vram_pages_mapped);
		return;
	}
	ASSERT_LE(pages, st.vm_pages_mapped)
		TH_LOG("%zu pages should be mapped, %llu are", pages,
		       (unsigned long long)st.vm_pages_mapped);
	ASSERT_EQ(0, st.vm_vram_pages_mapped)
		TH_LOG("%s, yet %llu pages are mapped from VRAM",
		       g->vram ? "these pages cannot move to VRAM" :
				 "no job asked for VRAM",
		       (unsigned long long)st.vm_vram_pages_mapped);
}

/* A fill value of its own for each seed. */
static __u32 fill_value(__u32 seed)
{
	return 0xf111ed00u ^ (seed * 0x01000193u);
}

/*
 * The round trip of the allocation cases over bytes [@off, @off + @size) of
 * the @total bytes at @base: the CPU writes pattern @seed over all of them,
 * the GPU reads the span, fills it, and reads its fill back; the CPU reads
 * the fill in the span and the pattern around it.
 */
static void check_round_trip(struct __test_metadata *_metadata,
			     const struct vsvm_gpu *g, void *base,
			     size_t total, size_t off, size_t size,
			     __u32 seed, enum where where)
{
	char *span = (char *)base + off;
	__u32 value = fill_value(seed);

	vsvm_pattern_fill(base, total, seed);
	ASSERT_EQ(vsvm_pattern_checksum(seed, off, size),
		  gpu_checksum(_metadata, g, span, size))
		TH_LOG("the GPU should read what the CPU wrote");

	gpu_fill(_metadata, g, span, size, value);
	expect_where(_metadata, g, where, pages_spanned(span, size));
	expect_words(_metadata, span, size, value, "CPU read of the GPU fill");
	if (off)
		expect_pattern(_metadata, base, 0, off, seed,
			       "bytes before the span");
	if (off + size < total)
		expect_pattern(_metadata, base, off + size, total - off - size,
			       seed, "bytes after the span");
	ASSERT_EQ(vsvm_value_checksum(value, size),
		  gpu_checksum(_metadata, g, span, size))
		TH_LOG("the GPU should read back its own fill");
}

/* A file in /tmp (tmpfs) of @size bytes, unlinked: only the fd names it. */
static int tmp_file(struct __test_metadata *_metadata, size_t size)
{
	/* An unnamed file of the tmpfs: nothing to unlink. */
	int fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);

	ASSERT_LE(0, fd) TH_LOG("O_TMPFILE in /tmp: %s", strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, size));
	return fd;
}

/* The file's @size bytes, read with read() rather than through a mapping. */
static void *read_file(struct __test_metadata *_metadata, int fd,
		       size_t size)
{
	void *data = malloc(size);

	ASSERT_NE(NULL, data);
	ASSERT_EQ((ssize_t)size, pread(fd, data, size, 0))
		TH_LOG("read of the file: %s", strerror(errno));
	return data;
}

FIXTURE(alloc) {
	struct vsvm_gpu gpu;	/* renderD128 */
};

FIXTURE_VARIANT(alloc) {
	/* Jobs run with DRM_VSVM_EXEC_VRAM. */
	bool vram;
};

FIXTURE_VARIANT_ADD(alloc, sysmem) {
	.vram = false,
};

FIXTURE_VARIANT_ADD(alloc, vram) {
	.vram = true,
};

FIXTURE_SETUP(alloc)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	if (!gpu_open(_metadata, &self->gpu, FIRST_RENDER_MINOR, variant->vram))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(alloc)
{
	gpu_close(_metadata, &self->gpu);
}

#define SMALL_SIZE	1000
#define SMALL_GUARD	64

TEST_F(alloc, malloc_small_unaligned)
{
	size_t total = SMALL_SIZE + 2 * SMALL_GUARD;
	char *buf = malloc(total);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(0, (uintptr_t)(buf + SMALL_GUARD) % PAGE);
	check_round_trip(_metadata, &self->gpu, buf, total, SMALL_GUARD,
			 SMALL_SIZE, 1, MIGRATABLE);
	free(buf);
}

TEST_F(alloc, malloc_large)
{
	/* Over glibc's mmap threshold, and neither start nor end aligned. */
	size_t size = (1UL << 20) + PAGE + 64;
	char *buf = malloc(size);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(0, (uintptr_t)buf % PAGE);
	check_round_trip(_metadata, &self->gpu, buf, size, 0, size, 2,
			 MIGRATABLE);
	free(buf);
}

#define STACK_WORDS	(3 * PAGE / 4 + 100)

TEST_F(alloc, stack_buffer)
{
	__u32 stack[STACK_WORDS];

	check_round_trip(_metadata, &self->gpu, stack, sizeof(stack),
			 SMALL_GUARD, sizeof(stack) - 2 * SMALL_GUARD, 3,
			 ANYWHERE);
}

TEST_F(alloc, aligned_alloc_2m)
{
	char *buf = aligned_alloc(SZ_2M, SZ_2M);

	ASSERT_NE(NULL, buf);
	check_round_trip(_metadata, &self->gpu, buf, SZ_2M, 0, SZ_2M, 4,
			 MIGRATABLE);
	free(buf);
}

TEST_F(alloc, anonymous_shared)
{
	size_t size = 16 * PAGE;
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, buf);
	check_round_trip(_metadata, &self->gpu, buf, size, 0, size, 5,
			 SYSTEM_ONLY);
}

TEST_F(alloc, file_shared)
{
	size_t size = 16 * PAGE, off = PAGE + 100, span = 10 * PAGE + 48;
	int fd = tmp_file(_metadata, size);
	char *buf, *data;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	check_round_trip(_metadata, &self->gpu, buf, size, off, span, 6,
			 SYSTEM_ONLY);

	/* The GPU wrote the page cache: read() sees it, and only it. */
	data = read_file(_metadata, fd, size);
	expect_words(_metadata, data + off, span, fill_value(6),
		     "read() of the part the GPU filled");
	expect_pattern(_metadata, data, 0, off, 6, "read() before the span");
	expect_pattern(_metadata, data, off + span, size - off - span, 6,
		       "read() after the span");
	free(data);
	close(fd);
}

TEST_F(alloc, file_private_after_cow)
{
	size_t size = 16 * PAGE, i;
	__u32 value = fill_value(7);
	int fd = tmp_file(_metadata, size);
	char *buf, *data;
	__u64 expected;

	data = malloc(size);
	ASSERT_NE(NULL, data);
	vsvm_pattern_fill(data, size, 7);
	ASSERT_EQ((ssize_t)size, pwrite(fd, data, size, 0));
	free(data);

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, buf);
	/* Every other page copied on write; the others still the file's. */
	for (i = 0; i < size; i += 2 * PAGE)
		memset(buf + i, 0x3c, PAGE);
	expected = vsvm_checksum(buf, size);
	ASSERT_EQ(expected, gpu_checksum(_metadata, &self->gpu, buf, size))
		TH_LOG("the GPU should read the private copies and the file's pages");

	gpu_fill(_metadata, &self->gpu, buf, size, value);
	if (!self->gpu.vram)
		expect_where(_metadata, &self->gpu, SYSTEM_ONLY, size / PAGE);
	expect_words(_metadata, buf, size, value, "CPU read of the GPU fill");
	ASSERT_EQ(vsvm_value_checksum(value, size),
		  gpu_checksum(_metadata, &self->gpu, buf, size));

	data = read_file(_metadata, fd, size);
	expect_pattern(_metadata, data, 0, size, 7,
		       "read() of a file whose private mapping the GPU wrote");
	free(data);
	close(fd);
}

TEST_F(alloc, thp)
{
	size_t size = 2 * SZ_2M;
	char *buf = map_aligned(_metadata, size, SZ_2M);

	if (madvise(buf, size, MADV_HUGEPAGE))
		SKIP(return, "MADV_HUGEPAGE: %s", strerror(errno));
	check_round_trip(_metadata, &self->gpu, buf, size, 0, size, 8,
			 MIGRATABLE);
}

TEST_F(alloc, unaligned_span)
{
	size_t size = 4 * PAGE;
	char *buf = map_buf(_metadata, size);

	/* From mid page 0 to mid page 2. */
	check_round_trip(_metadata, &self->gpu, buf, size, 1000,
			 3 * PAGE - 500, 9, MIGRATABLE);
}

TEST_F(alloc, gpu_first_touch)
{
	size_t size = 16 * PAGE;
	char *read = map_buf(_metadata, size);
	char *written = map_buf(_metadata, size);

	ASSERT_EQ(0, gpu_checksum(_metadata, &self->gpu, read, size))
		TH_LOG("memory nobody touched should read as zeros");
	expect_words(_metadata, read, size, 0, "CPU after the GPU's read");

	gpu_fill(_metadata, &self->gpu, written, size, 0x1badcafe);
	expect_where(_metadata, &self->gpu, MIGRATABLE, size / PAGE);
	expect_words(_metadata, written, size, 0x1badcafe,
		     "CPU read of the GPU's first touch");
}

TEST_F(alloc, cpu_initialised)
{
	size_t size = 16 * PAGE;
	__u32 *buf = map_buf(_metadata, size);

	vsvm_pattern_fill(buf, size, 10);
	ASSERT_EQ(vsvm_pattern_checksum(10, 0, size),
		  gpu_checksum(_metadata, &self->gpu, buf, size));
	gpu_atomic_inc(_metadata, &self->gpu, buf, size, 3, 0);
	expect_where(_metadata, &self->gpu, MIGRATABLE, size / PAGE);
	expect_pattern_plus(_metadata, buf, size, 10, 3,
			    "CPU read of the GPU's +3");
	ASSERT_EQ(vsvm_checksum(buf, size),
		  gpu_checksum(_metadata, &self->gpu, buf, size));
}

TEST_F(alloc, partial_prefault)
{
	size_t size = 16 * PAGE, i;
	char *buf = map_buf(_metadata, size);
	char *shadow = calloc(1, size);

	/* The CPU touches every other page; the shadow, not @buf, says what. */
	ASSERT_NE(NULL, shadow);
	vsvm_pattern_fill(shadow, size, 11);
	for (i = 0; i < size; i += PAGE) {
		if (i / PAGE % 2)
			memset(shadow + i, 0, PAGE);
		else
			memcpy(buf + i, shadow + i, PAGE);
	}
	ASSERT_EQ(vsvm_checksum(shadow, size),
		  gpu_checksum(_metadata, &self->gpu, buf, size))
		TH_LOG("the GPU should read the touched pages and zeros");

	gpu_fill(_metadata, &self->gpu, buf, size, 0x0ddf00d5);
	expect_where(_metadata, &self->gpu, MIGRATABLE, size / PAGE);
	expect_words(_metadata, buf, size, 0x0ddf00d5,
		     "CPU read of a fill over half-touched memory");
	free(shadow);
}

/*
 * malloc(), GPU use, free(), malloc() again: the new allocation, most likely
 * at the same address, must show the GPU its new contents, never the old.
 */
static void check_malloc_reuse(struct __test_metadata *_metadata,
			       const struct vsvm_gpu *g, size_t size,
			       __u32 seed)
{
	char *first, *again;

	first = malloc(size);
	ASSERT_NE(NULL, first);
	check_round_trip(_metadata, g, first, size, 0, size, seed,
			 MIGRATABLE);
	free(first);

	again = malloc(size);
	ASSERT_NE(NULL, again);
	vsvm_pattern_fill(again, size, seed + 1);
	ASSERT_EQ(vsvm_pattern_checksum(seed + 1, 0, size),
		  gpu_checksum(_metadata, g, again, size))
		TH_LOG("the GPU read stale data from the %s allocation at %p",
		       again == first ? "reused" : "new", again);
	gpu_fill(_metadata, g, again, size, fill_value(seed + 1));
	expect_words(_metadata, again, size, fill_value(seed + 1),
		     "CPU read of the GPU fill of the new allocation");
	free(again);
}

TEST_F(alloc, free_and_malloc_again_heap)
{
	/* Below the threshold: free() keeps the memory mapped. */
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 128 << 10));
	check_malloc_reuse(_metadata, &self->gpu, 16 * PAGE, 12);
}

TEST_F(alloc, free_and_malloc_again_mmap)
{
	/* Above the threshold: free() unmaps, malloc() maps again. */
	ASSERT_EQ(1, mallopt(M_MMAP_THRESHOLD, 128 << 10));
	check_malloc_reuse(_metadata, &self->gpu, 64 * PAGE, 14);
}

TEST_F(alloc, map_fixed_over_mapped_range)
{
	const struct vsvm_gpu *g = &self->gpu;
	size_t size = 16 * PAGE, head = 4 * PAGE, mid = 8 * PAGE;
	size_t tail = size - head - mid;
	char *buf = map_buf(_metadata, size);
	char *middle = buf + head;
	int ret;

	vsvm_pattern_fill(buf, size, 16);
	if (g->vram) {
		ret = vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				    size, 0);
		ASSERT_EQ(0, ret) TH_LOG("prefetch: %s", strerror(-ret));
	} else {
		gpu_checksum(_metadata, g, buf, size);
	}
	expect_where(_metadata, g, MIGRATABLE, size / PAGE);

	/* New memory over the middle, with data of its own. */
	ASSERT_EQ(middle, mmap(middle, mid, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, gpu_checksum(_metadata, g, middle, mid))
		TH_LOG("the GPU should read the new mapping's zeros, not the old data");
	vsvm_pattern_fill(middle, mid, 17);
	ASSERT_EQ(vsvm_pattern_checksum(17, 0, mid),
		  gpu_checksum(_metadata, g, middle, mid))
		TH_LOG("the GPU should read the new mapping's data");
	ASSERT_EQ(vsvm_pattern_checksum(16, 0, head),
		  gpu_checksum(_metadata, g, buf, head));
	ASSERT_EQ(vsvm_pattern_checksum(16, head + mid, tail),
		  gpu_checksum(_metadata, g, middle + mid, tail));

	gpu_fill(_metadata, g, middle, mid, 0x600d600d);
	expect_words(_metadata, middle, mid, 0x600d600d,
		     "CPU read of the GPU fill of the new mapping");
	expect_pattern(_metadata, buf, 0, head, 16, "the old mapping's head");
	expect_pattern(_metadata, buf, head + mid, tail, 16,
		       "the old mapping's tail");
}

/* A job in a thread of its own, for jobs that run while the case acts. */
struct job_thread {
	const struct vsvm_gpu *gpu;
	struct drm_vsvm_exec exec;
	/* Empty, or why the job failed. */
	char error[128];
	/* Set, with release semantics, once @exec and @error are final. */
	bool done;
	pthread_t tid;
};

static void *job_thread_run(void *arg)
{
	struct job_thread *jt = arg;

	job_ok(jt->gpu, &jt->exec, jt->error, sizeof(jt->error));
	__atomic_store_n(&jt->done, true, __ATOMIC_RELEASE);
	return NULL;
}

FIXTURE(concurrency) {
	struct vsvm_gpu gpu;	/* renderD128 */
};

FIXTURE_VARIANT(concurrency) {
	bool vram;
};

FIXTURE_VARIANT_ADD(concurrency, sysmem) {
	.vram = false,
};

FIXTURE_VARIANT_ADD(concurrency, vram) {
	.vram = true,
};

FIXTURE_SETUP(concurrency)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	if (!gpu_open(_metadata, &self->gpu, FIRST_RENDER_MINOR, variant->vram))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(concurrency)
{
	gpu_close(_metadata, &self->gpu);
}

#define WORKERS		4
#define WORKER_ROUNDS	8
#define WORKER_SIZE	(4 * PAGE)

/* A thread with a buffer of its own and a share in a counter page. */
struct worker {
	const struct vsvm_gpu *gpu;
	int index;
	__u32 *buf;
	__u32 *counter;
	/* Empty, or the first thing that went wrong. */
	char error[160];
	pthread_t tid;
};

static bool worker_round(struct worker *w, int round)
{
	/* Never 0, which memory nobody wrote holds too. */
	__u32 value = 0x10000000 | w->index << 16 | round;
	struct drm_vsvm_exec e;
	long bad;

	e = job_args(w->gpu, DRM_VSVM_OP_FILL, w->buf, NULL, WORKER_SIZE,
		     value, 0);
	if (!job_ok(w->gpu, &e, w->error, sizeof(w->error)))
		return false;
	e = job_args(w->gpu, DRM_VSVM_OP_CHECKSUM, NULL, w->buf, WORKER_SIZE,
		     0, 0);
	if (!job_ok(w->gpu, &e, w->error, sizeof(w->error)))
		return false;
	if (e.result != vsvm_value_checksum(value, WORKER_SIZE)) {
		snprintf(w->error, sizeof(w->error),
			 "round %d: GPU checksum %#llx of its own fill",
			 round, (unsigned long long)e.result);
		return false;
	}
	bad = vsvm_value_mismatch(w->buf, WORKER_SIZE, value);
	if (bad >= 0) {
		snprintf(w->error, sizeof(w->error),
			 "round %d: word at +%#lx is %#x, expected %#x", round,
			 bad, w->buf[bad / 4], value);
		return false;
	}
	e = job_args(w->gpu, DRM_VSVM_OP_ATOMIC_INC, w->counter, NULL, PAGE,
		     1, 0);
	return job_ok(w->gpu, &e, w->error, sizeof(w->error));
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int round;

	for (round = 0; round < WORKER_ROUNDS; round++)
		if (!worker_round(w, round))
			break;
	return NULL;
}

TEST_F(concurrency, threads_on_one_vm)
{
	struct worker workers[WORKERS];
	__u32 *counter = map_buf(_metadata, PAGE);
	int i;

	for (i = 0; i < WORKERS; i++) {
		memset(&workers[i], 0, sizeof(workers[i]));
		workers[i].gpu = &self->gpu;
		workers[i].index = i;
		workers[i].buf = map_buf(_metadata, WORKER_SIZE);
		workers[i].counter = counter;
		ASSERT_EQ(0, pthread_create(&workers[i].tid, NULL, worker_run,
					    &workers[i]));
	}
	for (i = 0; i < WORKERS; i++)
		ASSERT_EQ(0, pthread_join(workers[i].tid, NULL));
	for (i = 0; i < WORKERS; i++)
		ASSERT_EQ('\0', workers[i].error[0])
			TH_LOG("thread %d: %s", i, workers[i].error);
	expect_words(_metadata, counter, PAGE, WORKERS * WORKER_ROUNDS,
		     "the counter every thread incremented once a round");
}

#define CHILDREN	3
#define CHILD_ROUNDS	4
#define CHILD_SIZE	(8 * PAGE)

/* A child's jobs over its own buffer; false with @why on the first error. */
static bool child_rounds(const struct vsvm_gpu *g, int index, __u32 *buf,
			 char *why, size_t len)
{
	__u32 seed, inc = index + 1;
	struct drm_vsvm_exec e;
	int round;
	long bad;

	for (round = 0; round < CHILD_ROUNDS; round++) {
		seed = 100 + CHILDREN * round + index;
		vsvm_pattern_fill(buf, CHILD_SIZE, seed);
		e = job_args(g, DRM_VSVM_OP_CHECKSUM, NULL, buf, CHILD_SIZE,
			     0, 0);
		if (!job_ok(g, &e, why, len))
			return false;
		if (e.result != vsvm_pattern_checksum(seed, 0, CHILD_SIZE)) {
			snprintf(why, len, "round %d: GPU checksum %#llx of the CPU's pattern",
				 round, (unsigned long long)e.result);
			return false;
		}
		e = job_args(g, DRM_VSVM_OP_ATOMIC_INC, buf, NULL, CHILD_SIZE,
			     inc, 0);
		if (!job_ok(g, &e, why, len))
			return false;
		bad = pattern_plus_mismatch(buf, CHILD_SIZE, seed, inc);
		if (bad >= 0) {
			snprintf(why, len, "round %d: word %ld is %#x, expected %#x",
				 round, bad, buf[bad],
				 vsvm_pattern_word(seed, bad) + inc);
			return false;
		}
	}
	return true;
}

/*
 * A process with a file and a VM of its own: waits for the parent's byte on
 * @go, runs its jobs, and exits 0 when everything read back right.
 */
static void __noreturn child_run(int index, bool vram, int *go)
{
	struct vsvm_gpu g = { .vram = vram };
	char why[160];
	__u32 *buf;

	close(go[1]);
	g.fd = vsvm_open(0);
	if (g.fd < 0 || vsvm_vm_create(g.fd, &g.vm))
		_exit(10);
	buf = mmap(NULL, CHILD_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		_exit(11);
	if (vsvm_wait_byte(go[0]) != 1)
		_exit(12);
	if (child_rounds(&g, index, buf, why, sizeof(why)))
		_exit(0);
	fprintf(stderr, "# child %d: %s\n", index, why);
	_exit(1);
}

TEST_F(concurrency, processes_with_own_vms)
{
	__u32 *buf = map_buf(_metadata, CHILD_SIZE);
	pid_t pids[CHILDREN];
	int go[2], i;

	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			child_run(i, self->gpu.vram, go);
	}
	close(go[0]);
	for (i = 0; i < CHILDREN; i++)
		ASSERT_EQ(0, vsvm_send_byte(go[1]));

	/* The parent's own VM runs jobs meanwhile. */
	for (i = 0; i < CHILD_ROUNDS; i++) {
		gpu_fill(_metadata, &self->gpu, buf, CHILD_SIZE, i + 1);
		expect_words(_metadata, buf, CHILD_SIZE, i + 1,
			     "the parent's buffer");
	}
	for (i = 0; i < CHILDREN; i++)
		expect_child_ok(_metadata, pids[i],
				"a process running jobs on its own VM");
	close(go[1]);
}

#define INC_PASSES	2000

TEST_F_TIMEOUT(concurrency, gpu_and_cpu_write_one_page, 60)
{
	struct job_thread jt = { .gpu = &self->gpu };
	__u32 *page = map_buf(_metadata, PAGE);
	__u32 cpu = 0, seen, last = 0;
	int regressions = 0;

	page[0] = 0;
	jt.exec = job_args(&self->gpu, DRM_VSVM_OP_ATOMIC_INC, page, NULL, 4,
			   1, INC_PASSES);
	ASSERT_EQ(0, pthread_create(&jt.tid, NULL, job_thread_run, &jt));

	/* The CPU writes word 1 and watches word 0 count while the job runs. */
	do {
		__atomic_store_n(&page[1], ++cpu, __ATOMIC_RELAXED);
		seen = __atomic_load_n(&page[0], __ATOMIC_RELAXED);
		regressions += seen < last;
		last = seen;
	} while (!__atomic_load_n(&jt.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, pthread_join(jt.tid, NULL));

	ASSERT_EQ('\0', jt.error[0]) TH_LOG("the GPU's job: %s", jt.error);
	ASSERT_EQ(INC_PASSES, page[0])
		TH_LOG("GPU increments of word 0 lost while the CPU wrote word 1 %u times",
		       cpu);
	ASSERT_EQ(cpu, page[1]) TH_LOG("the CPU's last write to word 1 is lost");
	ASSERT_EQ(0, regressions)
		TH_LOG("the CPU saw word 0 go back %d times", regressions);
}

#define RACE_SIZE	(64 * PAGE)
#define RACE_ROUNDS	10

/* A thread that moves a span to VRAM and back, again and again. */
struct prefetcher {
	const struct vsvm_gpu *gpu;
	void *buf;
	/* Empty, or the prefetch that failed. */
	char error[128];
	/* Set, with release semantics, once @error is final. */
	bool done;
	pthread_t tid;
};

static void *prefetcher_run(void *arg)
{
	static const __u32 regions[] = {
		DRM_VSVM_REGION_VRAM, DRM_VSVM_REGION_SYSTEM,
	};
	struct prefetcher *p = arg;
	int round, i, ret = 0;

	for (round = 0; round < RACE_ROUNDS && !ret; round++) {
		for (i = 0; i < 2 && !ret; i++) {
			ret = vsvm_prefetch(p->gpu->fd, p->gpu->vm, regions[i],
					    p->buf, RACE_SIZE, 0);
			if (ret)
				snprintf(p->error, sizeof(p->error),
					 "round %d: prefetch to region %u: %s",
					 round, regions[i], strerror(-ret));
		}
	}
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(concurrency, prefetch_races_gpu_faults, 60)
{
	const struct vsvm_gpu *g = &self->gpu;
	struct prefetcher p = { .gpu = g };
	struct drm_vsvm_stats s0, s1;
	struct drm_vsvm_exec e;
	__u64 expected;
	int checksums = 0;

	p.buf = map_buf(_metadata, RACE_SIZE);
	vsvm_pattern_fill(p.buf, RACE_SIZE, 20);
	expected = vsvm_pattern_checksum(20, 0, RACE_SIZE);
	s0 = stats_of(_metadata, g);
	ASSERT_EQ(0, pthread_create(&p.tid, NULL, prefetcher_run, &p));

	do {
		e = job(_metadata, g, DRM_VSVM_OP_CHECKSUM, NULL, p.buf,
			RACE_SIZE, 0, 0);
		ASSERT_EQ(0, e.status)
			TH_LOG("checksum %d during the prefetches: %s",
			       checksums, job_end(&e));
		ASSERT_EQ(expected, e.result)
			TH_LOG("checksum %d during the prefetches is wrong",
			       checksums);
		checksums++;
	} while (!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
	ASSERT_EQ(0, pthread_join(p.tid, NULL));

	ASSERT_EQ('\0', p.error[0]) TH_LOG("%s", p.error);
	s1 = stats_of(_metadata, g);
	ASSERT_LE(s0.migrations_to_vram + RACE_ROUNDS, s1.migrations_to_vram)
		TH_LOG("each round should have moved the span to VRAM");
	expect_pattern(_metadata, p.buf, 0, RACE_SIZE, 20,
		       "CPU after the race");
}

FIXTURE(madvise) {
	struct vsvm_gpu gpu;	/* renderD128, jobs without DRM_VSVM_EXEC_VRAM */
};

FIXTURE_SETUP(madvise)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	if (!gpu_open(_metadata, &self->gpu, FIRST_RENDER_MINOR, false))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(madvise)
{
	gpu_close(_metadata, &self->gpu);
}

static void advise(struct __test_metadata *_metadata,
		   const struct vsvm_gpu *g, const void *start, size_t size,
		   __u32 placement, __u32 atomic)
{
	int ret = vsvm_madvise(g->fd, g->vm, start, size, placement, atomic);

	ASSERT_EQ(0, ret)
		TH_LOG("madvise of %p+%#zx, placement %u, atomic %u: %s",
		       start, size, placement, atomic, strerror(-ret));
}

/* The VM maps at least @pages pages from VRAM. */
static void expect_vram_mapped(struct __test_metadata *_metadata,
			       const struct vsvm_gpu *g, size_t pages,
			       const char *what)
{
	struct drm_vsvm_stats st = stats_of(_metadata, g);

	ASSERT_LE(pages, st.vm_vram_pages_mapped)
		TH_LOG("%s: %llu pages mapped from VRAM, expected %zu",
		       what, (unsigned long long)st.vm_vram_pages_mapped,
		       pages);
}

#define ADVISED_PAGES	16
#define ADVISED_SIZE	(ADVISED_PAGES * PAGE)

TEST_F(madvise, placement_vram_moves_plain_jobs)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, ADVISED_SIZE);
	struct drm_vsvm_stats s0, s1;

	vsvm_pattern_fill(buf, ADVISED_SIZE, 30);
	advise(_metadata, g, buf, ADVISED_SIZE, DRM_VSVM_PLACE_VRAM,
	       DRM_VSVM_ATOMIC_DEFAULT);
	s0 = stats_of(_metadata, g);
	ASSERT_EQ(vsvm_pattern_checksum(30, 0, ADVISED_SIZE),
		  gpu_checksum(_metadata, g, buf, ADVISED_SIZE));
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_vram, s1.migrations_to_vram)
		TH_LOG("a job without DRM_VSVM_EXEC_VRAM on a PLACE_VRAM span should migrate it");
	expect_vram_mapped(_metadata, g, ADVISED_PAGES,
			   "a plain job on a PLACE_VRAM span");
	expect_pattern(_metadata, buf, 0, ADVISED_SIZE, 30,
		       "CPU read of a PLACE_VRAM span");

	/* The CPU took the pages back; the next fault moves them again. */
	gpu_fill(_metadata, g, buf, ADVISED_SIZE, 0x7a7a7a7a);
	expect_vram_mapped(_metadata, g, ADVISED_PAGES,
			   "a plain fill after the CPU read");
	expect_words(_metadata, buf, ADVISED_SIZE, 0x7a7a7a7a,
		     "CPU read of the fill");
}

TEST_F(madvise, placement_system_keeps_vram_jobs_in_system_memory)
{
	struct vsvm_gpu vram_jobs = self->gpu;
	char *buf = map_buf(_metadata, ADVISED_SIZE);
	struct drm_vsvm_stats s0, s1;

	vram_jobs.vram = true;
	vsvm_pattern_fill(buf, ADVISED_SIZE, 31);
	advise(_metadata, &vram_jobs, buf, ADVISED_SIZE, DRM_VSVM_PLACE_SYSTEM,
	       DRM_VSVM_ATOMIC_DEFAULT);
	s0 = stats_of(_metadata, &vram_jobs);
	ASSERT_EQ(vsvm_pattern_checksum(31, 0, ADVISED_SIZE),
		  gpu_checksum(_metadata, &vram_jobs, buf, ADVISED_SIZE));
	gpu_fill(_metadata, &vram_jobs, buf, ADVISED_SIZE, 0x5157e111);
	s1 = stats_of(_metadata, &vram_jobs);
	ASSERT_EQ(s0.migrations_to_vram, s1.migrations_to_vram)
		TH_LOG("DRM_VSVM_EXEC_VRAM jobs on a PLACE_SYSTEM span migrated it");
	ASSERT_EQ(0, s1.vm_vram_pages_mapped)
		TH_LOG("a PLACE_SYSTEM span is mapped from VRAM");
	ASSERT_LE(ADVISED_PAGES, s1.vm_pages_mapped);
	expect_words(_metadata, buf, ADVISED_SIZE, 0x5157e111,
		     "CPU read of the fill");
}

TEST_F(madvise, atomic_device_moves_atomics_to_vram)
{
	const struct vsvm_gpu *g = &self->gpu;
	__u32 *buf = map_buf(_metadata, ADVISED_SIZE);
	struct drm_vsvm_stats s0, s1;

	vsvm_pattern_fill(buf, ADVISED_SIZE, 32);
	advise(_metadata, g, buf, ADVISED_SIZE, DRM_VSVM_PLACE_DEFAULT,
	       DRM_VSVM_ATOMIC_DEVICE);
	s0 = stats_of(_metadata, g);
	gpu_atomic_inc(_metadata, g, buf, ADVISED_SIZE, 1, 0);
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_vram, s1.migrations_to_vram)
		TH_LOG("an atomic job on an ATOMIC_DEVICE span should migrate it");
	expect_vram_mapped(_metadata, g, ADVISED_PAGES,
			   "an atomic job on an ATOMIC_DEVICE span");
	expect_pattern_plus(_metadata, buf, ADVISED_SIZE, 32, 1,
			    "CPU read of the GPU's +1 in VRAM");

	/* Not an atomic: the pages stay in system memory. */
	ASSERT_EQ(vsvm_checksum(buf, ADVISED_SIZE),
		  gpu_checksum(_metadata, g, buf, ADVISED_SIZE));
	s0 = stats_of(_metadata, g);
	ASSERT_EQ(0, s0.vm_vram_pages_mapped)
		TH_LOG("a checksum job is no atomic: it should read from system memory");

	/* An atomic on pages mapped from system memory moves them first. */
	gpu_atomic_inc(_metadata, g, buf, ADVISED_SIZE, 1, 0);
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_vram, s1.migrations_to_vram)
		TH_LOG("atomics on system pages of an ATOMIC_DEVICE span should migrate them");
	expect_vram_mapped(_metadata, g, ADVISED_PAGES,
			   "an atomic job after a read from system memory");
	expect_pattern_plus(_metadata, buf, ADVISED_SIZE, 32, 2,
			    "CPU read after two GPU +1");
}

TEST_F(madvise, attributes_survive_munmap_and_mmap)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, ADVISED_SIZE);
	struct drm_vsvm_stats s0, s1;

	advise(_metadata, g, buf, ADVISED_SIZE, DRM_VSVM_PLACE_VRAM,
	       DRM_VSVM_ATOMIC_DEFAULT);
	ASSERT_EQ(0, munmap(buf, ADVISED_SIZE));
	ASSERT_EQ(buf, mmap(buf, ADVISED_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	vsvm_pattern_fill(buf, ADVISED_SIZE, 33);

	s0 = stats_of(_metadata, g);
	ASSERT_EQ(vsvm_pattern_checksum(33, 0, ADVISED_SIZE),
		  gpu_checksum(_metadata, g, buf, ADVISED_SIZE))
		TH_LOG("the GPU should read the new mapping's data");
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_vram, s1.migrations_to_vram)
		TH_LOG("the new mapping at the advised address should migrate");
	expect_vram_mapped(_metadata, g, ADVISED_PAGES,
			   "new memory at an address advised PLACE_VRAM");
	expect_pattern(_metadata, buf, 0, ADVISED_SIZE, 33,
		       "CPU read of the new mapping");
}

TEST_F(madvise, advice_over_the_middle_splits_the_span)
{
	const struct vsvm_gpu *g = &self->gpu;
	size_t size = 3 * SZ_64K;
	char *buf = map_aligned(_metadata, size, SZ_64K);
	struct drm_vsvm_stats st;

	vsvm_pattern_fill(buf, size, 34);
	advise(_metadata, g, buf, size, DRM_VSVM_PLACE_VRAM,
	       DRM_VSVM_ATOMIC_DEFAULT);
	advise(_metadata, g, buf + SZ_64K, SZ_64K, DRM_VSVM_PLACE_SYSTEM,
	       DRM_VSVM_ATOMIC_DEFAULT);

	ASSERT_EQ(vsvm_pattern_checksum(34, 0, size),
		  gpu_checksum(_metadata, g, buf, size));
	st = stats_of(_metadata, g);
	ASSERT_EQ(2 * SZ_64K / PAGE, st.vm_vram_pages_mapped)
		TH_LOG("head and tail should be mapped from VRAM, the middle from system memory");
	ASSERT_LE(size / PAGE, st.vm_pages_mapped);
	expect_pattern(_metadata, buf, 0, size, 34, "CPU read of the span");
}

TEST_F(madvise, rejects_bad_arguments)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, 2 * PAGE);
	struct drm_vsvm_madvise args = {
		.vm_id = g->vm,
		.pad = 1,
		.start = vsvm_va(buf),
		.size = 2 * PAGE,
		.placement = DRM_VSVM_PLACE_VRAM,
	};
	__u32 vram = DRM_VSVM_PLACE_VRAM, dflt = DRM_VSVM_ATOMIC_DEFAULT;

	vsvm_pattern_fill(buf, 2 * PAGE, 35);
	/* The ioctl exists: EINVAL below is about the arguments. */
	advise(_metadata, g, buf, 2 * PAGE, DRM_VSVM_PLACE_DEFAULT, dflt);
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf + 4, PAGE, vram, dflt))
		TH_LOG("unaligned start");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, PAGE / 2, vram,
					dflt))
		TH_LOG("unaligned size");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, 0, vram, dflt))
		TH_LOG("zero size");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm,
					(void *)(uintptr_t)(~0ull - PAGE + 1),
					2 * PAGE, vram, dflt))
		TH_LOG("span wrapping past 2^64");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, 2 * PAGE,
					DRM_VSVM_PLACE_VRAM + 1, dflt))
		TH_LOG("placement past the last");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, 2 * PAGE, ~0u, dflt))
		TH_LOG("placement ~0");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, 2 * PAGE, vram,
					DRM_VSVM_ATOMIC_DEVICE + 1))
		TH_LOG("atomic past the last");
	ASSERT_EQ(-EINVAL, vsvm_madvise(g->fd, g->vm, buf, 2 * PAGE, vram, ~0u))
		TH_LOG("atomic ~0");
	ASSERT_EQ(-EINVAL, vsvm_ioctl(g->fd, DRM_IOCTL_VSVM_MADVISE, &args))
		TH_LOG("pad 1");
	ASSERT_EQ(-ENOENT, vsvm_madvise(g->fd, g->vm + 1000, buf, 2 * PAGE,
					vram, dflt))
		TH_LOG("unknown VM");

	/* None of them took effect. */
	ASSERT_EQ(vsvm_pattern_checksum(35, 0, 2 * PAGE),
		  gpu_checksum(_metadata, g, buf, 2 * PAGE));
	ASSERT_EQ(0, stats_of(_metadata, g).vm_vram_pages_mapped)
		TH_LOG("a rejected PLACE_VRAM advice moved pages to VRAM");
}

TEST_F(madvise, atomic_device_on_shared_memory_fails_the_job)
{
	const struct vsvm_gpu *g = &self->gpu;
	size_t size = 4 * PAGE, half = size / 2;
	char *shared, *mixed;

	shared = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	vsvm_pattern_fill(shared, size, 36);
	advise(_metadata, g, shared, size, DRM_VSVM_PLACE_DEFAULT,
	       DRM_VSVM_ATOMIC_DEVICE);
	expect_job_fault(_metadata, g, DRM_VSVM_OP_ATOMIC_INC, shared, size,
			 -EOPNOTSUPP, shared,
			 "ATOMIC_DEVICE atomic job on shared memory");
	expect_pattern(_metadata, shared, 0, size, 36,
		       "shared memory after the failed atomic job");

	/* Other jobs do not need VRAM, and the VM goes on. */
	gpu_fill(_metadata, g, shared, size, 0x54a12ed0);
	expect_words(_metadata, shared, size, 0x54a12ed0,
		     "CPU read of a fill of the shared memory");

	/* Private pages, then shared ones: the job stops where they start. */
	mixed = mmap(NULL, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mixed);
	ASSERT_EQ(mixed + half, mmap(mixed + half, half,
				     PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED,
				     -1, 0));
	vsvm_pattern_fill(mixed, size, 37);
	advise(_metadata, g, mixed, size, DRM_VSVM_PLACE_DEFAULT,
	       DRM_VSVM_ATOMIC_DEVICE);
	expect_job_fault(_metadata, g, DRM_VSVM_OP_ATOMIC_INC, mixed, size,
			 -EOPNOTSUPP, mixed + half,
			 "ATOMIC_DEVICE atomic job over private, then shared memory");
	expect_pattern_plus(_metadata, (__u32 *)mixed, half, 37, 0x0badf00d,
			    "the private half, incremented in VRAM");
	expect_pattern(_metadata, mixed, half, half, 37,
		       "the shared half, which the job did not reach");
}

FIXTURE(scenario) {
	struct vsvm_gpu gpu;	/* renderD128, jobs without DRM_VSVM_EXEC_VRAM */
	struct vsvm_gpu gpu1;	/* renderD129, once a case opened it */
};

FIXTURE_SETUP(scenario)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	self->gpu1.fd = -1;
	if (!gpu_open(_metadata, &self->gpu, FIRST_RENDER_MINOR, false))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(scenario)
{
	gpu_close(_metadata, &self->gpu1);
	gpu_close(_metadata, &self->gpu);
}

#define PRESSURE_CHUNK	SZ_2M

/* A thread reading every other chunk of a buffer with checksum jobs. */
struct reader {
	const struct vsvm_gpu *gpu;
	const char *buf;
	size_t chunks;
	/* The checksum of each chunk, as the CPU computed it. */
	const __u64 *expected;
	/* Empty, or the first chunk that read back wrong. */
	char error[160];
	pthread_t tid;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	struct drm_vsvm_exec e;
	char why[128];
	size_t i;

	for (i = 0; i < r->chunks; i += 2) {
		e = job_args(r->gpu, DRM_VSVM_OP_CHECKSUM, NULL,
			     r->buf + i * PRESSURE_CHUNK, PRESSURE_CHUNK, 0, 0);
		if (!job_ok(r->gpu, &e, why, sizeof(why))) {
			snprintf(r->error, sizeof(r->error), "chunk %zu: %s",
				 i, why);
			break;
		}
		if (e.result != r->expected[i]) {
			snprintf(r->error, sizeof(r->error),
				 "chunk %zu: GPU checksum %#llx, expected %#llx",
				 i, (unsigned long long)e.result,
				 (unsigned long long)r->expected[i]);
			break;
		}
	}
	return NULL;
}

/*
 * Three times the VRAM in use at once: a thread reads the even 2M chunks
 * with jobs that fault them into VRAM while the main thread prefetches the
 * odd ones there, so that each evicts the other's; every byte must read
 * back right, from wherever it ended up.
 */
TEST_F_TIMEOUT(scenario, footprint_of_three_vrams_under_prefetch, 300)
{
	struct vsvm_gpu vram_jobs = self->gpu;
	struct reader r = { .gpu = &vram_jobs };
	struct drm_vsvm_stats s0, s1;
	size_t size, i;
	__u64 *expected;
	char *buf;
	int ret;

	vram_jobs.vram = true;
	s0 = stats_of(_metadata, &self->gpu);
	size = 3 * s0.vram_pages_total * PAGE;
	if (!size || size > (64UL << 20))
		SKIP(return, "%llu pages of VRAM: boot with vsvm.vram_mb=16 or less",
		     (unsigned long long)s0.vram_pages_total);
	size = align_up(size, 2 * PRESSURE_CHUNK);

	buf = map_aligned(_metadata, size, SZ_2M);
	vsvm_pattern_fill(buf, size, 40);
	r.buf = buf;
	r.chunks = size / PRESSURE_CHUNK;
	expected = calloc(r.chunks, sizeof(*expected));
	ASSERT_NE(NULL, expected);
	for (i = 0; i < r.chunks; i++)
		expected[i] = vsvm_checksum(buf + i * PRESSURE_CHUNK,
					    PRESSURE_CHUNK);
	r.expected = expected;

	ASSERT_EQ(0, pthread_create(&r.tid, NULL, reader_run, &r));
	for (i = 1; i < r.chunks; i += 2) {
		ret = vsvm_prefetch(self->gpu.fd, self->gpu.vm,
				    DRM_VSVM_REGION_VRAM,
				    buf + i * PRESSURE_CHUNK, PRESSURE_CHUNK, 0);
		ASSERT_EQ(0, ret)
			TH_LOG("prefetch of chunk %zu of %zu to VRAM: %s", i,
			       r.chunks, strerror(-ret));
	}
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	ASSERT_EQ('\0', r.error[0]) TH_LOG("reader: %s", r.error);

	s1 = stats_of(_metadata, &self->gpu);
	ASSERT_LT(s0.evictions, s1.evictions)
		TH_LOG("three times the VRAM cannot fit without evicting");
	ASSERT_GE(s1.vram_pages_total, s1.vram_pages_used);
	for (i = 1; i < r.chunks; i += 2)
		ASSERT_EQ(expected[i],
			  gpu_checksum(_metadata, &self->gpu,
				       buf + i * PRESSURE_CHUNK,
				       PRESSURE_CHUNK))
			TH_LOG("GPU read of prefetched chunk %zu", i);
	expect_pattern(_metadata, buf, 0, size, 40, "CPU after the pressure");
	free(expected);
	ASSERT_EQ(0, munmap(buf, size));
}

TEST_F(scenario, bad_address_in_the_middle_of_a_span)
{
	const struct vsvm_gpu *g = &self->gpu;
	size_t size = 8 * PAGE, head = 100;
	char *buf = map_buf(_metadata, size);
	char *hole = buf + 4 * PAGE;
	char *other = map_buf(_metadata, size);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, size, 41);
	ASSERT_EQ(0, munmap(hole, PAGE));

	expect_job_fault(_metadata, g, DRM_VSVM_OP_CHECKSUM, buf, size,
			 -EFAULT, hole, "checksum across the hole");
	e = job(_metadata, g, DRM_VSVM_OP_COPY, other, buf + head,
		size - 2 * head, 0, 0);
	ASSERT_EQ(-EFAULT, e.status) TH_LOG("copy from across the hole: %s",
					    job_end(&e));
	ASSERT_EQ(vsvm_va(hole), e.fault_addr)
		TH_LOG("copy from across the hole: %s", job_end(&e));
	e = job(_metadata, g, DRM_VSVM_OP_FILL, buf + head, NULL,
		size - 2 * head, 0xbadbad00, 0);
	ASSERT_EQ(-EFAULT, e.status) TH_LOG("fill across the hole: %s",
					    job_end(&e));
	ASSERT_EQ(vsvm_va(hole), e.fault_addr)
		TH_LOG("fill across the hole: %s", job_end(&e));

	/* Written up to the hole, not a byte past it. */
	expect_pattern(_metadata, buf, 0, head, 41, "bytes before the fill");
	expect_words(_metadata, buf + head, hole - buf - head, 0xbadbad00,
		     "bytes the fill reached before the hole");
	expect_pattern(_metadata, buf, hole + PAGE - buf,
		       buf + size - hole - PAGE, 41, "bytes after the hole");

	/* The VM goes on, on both sides of the hole and elsewhere. */
	ASSERT_EQ(vsvm_pattern_checksum(41, hole + PAGE - buf,
					buf + size - hole - PAGE),
		  gpu_checksum(_metadata, g, hole + PAGE,
			       buf + size - hole - PAGE));
	gpu_fill(_metadata, g, buf, hole - buf, 0x900d900d);
	expect_words(_metadata, buf, hole - buf, 0x900d900d,
		     "fill before the hole after the failed jobs");
	gpu_fill(_metadata, g, other, size, 0x0e0e0e0e);
	expect_words(_metadata, other, size, 0x0e0e0e0e,
		     "fill of another buffer after the failed jobs");
}

TEST_F(scenario, second_device_moves_first_device_vram_back)
{
	const struct vsvm_gpu *g0 = &self->gpu, *g1 = &self->gpu1;
	char *buf = map_buf(_metadata, ADVISED_SIZE);
	struct drm_vsvm_stats s0, s1, t1;
	int ret;

	if (!gpu_open(_metadata, &self->gpu1, FIRST_RENDER_MINOR + 1, false))
		SKIP(return, "no /dev/dri/renderD129: one vsvm device only");
	ASSERT_EQ(0, g0->start.owner_group) TH_LOG("device 0 is in an owner group");
	ASSERT_EQ(0, g1->start.owner_group) TH_LOG("device 1 is in an owner group");

	vsvm_pattern_fill(buf, ADVISED_SIZE, 42);
	ret = vsvm_prefetch(g0->fd, g0->vm, DRM_VSVM_REGION_VRAM, buf,
			    ADVISED_SIZE, 0);
	ASSERT_EQ(0, ret) TH_LOG("prefetch to device 0: %s", strerror(-ret));
	s0 = stats_of(_metadata, g0);
	ASSERT_LE(ADVISED_PAGES, s0.vm_vram_pages_mapped);

	ASSERT_EQ(vsvm_pattern_checksum(42, 0, ADVISED_SIZE),
		  gpu_checksum(_metadata, g1, buf, ADVISED_SIZE))
		TH_LOG("device 1 should read the data in device 0's VRAM");
	s1 = stats_of(_metadata, g0);
	t1 = stats_of(_metadata, g1);
	ASSERT_LT(s0.migrations_to_ram, s1.migrations_to_ram)
		TH_LOG("device 1 cannot reach device 0's VRAM: the pages should have moved back");
	ASSERT_EQ(0, s1.vm_vram_pages_mapped)
		TH_LOG("device 0 still maps pages that left its VRAM");
	ASSERT_EQ(0, t1.vm_peer_pages_mapped)
		TH_LOG("devices of different owners map each other's VRAM");
	ASSERT_LE(ADVISED_PAGES, t1.vm_pages_mapped);

	gpu_fill(_metadata, g1, buf, ADVISED_SIZE, 0x1d1d1d1d);
	ASSERT_EQ(vsvm_value_checksum(0x1d1d1d1d, ADVISED_SIZE),
		  gpu_checksum(_metadata, g0, buf, ADVISED_SIZE))
		TH_LOG("device 0 should read device 1's fill");
	expect_words(_metadata, buf, ADVISED_SIZE, 0x1d1d1d1d, "CPU after both");
}

#define MAX_DEVICES		4
#define OWNER_GROUP_PARAM	"/sys/module/vsvm/parameters/owner_group"

/* Where the vsvm driver binds devices: PCI, or its own platform devices. */
static const char *const vsvm_drivers[] = {
	"/sys/bus/pci/drivers/vsvm",
	"/sys/bus/platform/drivers/vsvm",
};

/* A device the vsvm driver had bound when the case started. */
struct bound_device {
	char name[64];
	/* The sysfs directory of the driver that bound it. */
	const char *driver;
	/* Its render node's minor then. */
	int minor;
};

static int write_sysfs(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Reads a sysfs attribute without its newline; 0 or -errno. */
static int read_sysfs(const char *path, char *value, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, value, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	value[len] = '\0';
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

/* The minor of the render node of device @name, or -1 without one. */
static int render_minor_of(const char *name)
{
	char path[PATH_MAX], link[PATH_MAX];
	DIR *dir = opendir("/sys/class/drm");
	const char *device;
	struct dirent *d;
	int minor = -1;
	ssize_t len;

	if (!dir)
		return -1;
	while (minor < 0 && (d = readdir(dir))) {
		if (strncmp(d->d_name, "renderD", 7))
			continue;
		snprintf(path, sizeof(path), "/sys/class/drm/%s/device",
			 d->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		device = strrchr(link, '/');
		if (!strcmp(device ? device + 1 : link, name))
			minor = atoi(d->d_name + 7);
	}
	closedir(dir);
	return minor;
}

/* Waits for the render node of @dev; its minor, or -1 after HANG_MS. */
static int wait_render_node(const struct bound_device *dev)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	char path[32];
	int minor;

	for (;;) {
		minor = render_minor_of(dev->name);
		if (minor >= 0) {
			snprintf(path, sizeof(path), "/dev/dri/renderD%d",
				 minor);
			if (!access(path, F_OK))
				return minor;
		}
		if (vsvm_now_ms() > deadline)
			return -1;
		usleep(VSVM_POLL_US);
	}
}

static bool device_bound(const struct bound_device *dev)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dev->driver, dev->name);
	return !lstat(path, &st);
}

/* Writes @dev's name to its driver's @attr, "bind" or "unbind". */
static int device_driver_write(const struct bound_device *dev,
			       const char *attr)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dev->driver, attr);
	return write_sysfs(path, dev->name);
}

/*
 * The devices the vsvm driver binds, by render minor: the symlinks of its
 * driver directories, but for the one to the module.
 */
static int find_bound_devices(struct bound_device *devs, int max)
{
	struct bound_device tmp;
	char path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	int n = 0, i, j;
	DIR *dir;

	for (i = 0; i < ARRAY_SIZE(vsvm_drivers); i++) {
		dir = opendir(vsvm_drivers[i]);
		if (!dir)
			continue;
		while (n < max && (d = readdir(dir))) {
			snprintf(path, sizeof(path), "%s/%s", vsvm_drivers[i],
				 d->d_name);
			if (!strcmp(d->d_name, "module") || lstat(path, &st) ||
			    !S_ISLNK(st.st_mode) ||
			    strlen(d->d_name) >= sizeof(devs[n].name))
				continue;
			memcpy(devs[n].name, d->d_name, strlen(d->d_name) + 1);
			devs[n].driver = vsvm_drivers[i];
			devs[n].minor = render_minor_of(d->d_name);
			n++;
		}
		closedir(dir);
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && devs[j - 1].minor > devs[j].minor; j--) {
			tmp = devs[j];
			devs[j] = devs[j - 1];
			devs[j - 1] = tmp;
		}
	return n;
}

FIXTURE(sysfs) {
	struct bound_device devs[MAX_DEVICES];
	int ndevs;
	/* The owner_group parameter when the case started, "" without it. */
	char owner_group[16];
};

FIXTURE_SETUP(sysfs)
{
	int i;

	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	self->ndevs = find_bound_devices(self->devs, MAX_DEVICES);
	if (!self->ndevs)
		SKIP(return, "no device bound by a driver named vsvm");
	if (geteuid())
		SKIP(return, "binding and unbinding devices needs root");
	for (i = 0; i < self->ndevs; i++)
		ASSERT_LE(0, self->devs[i].minor)
			TH_LOG("%s has no render node", self->devs[i].name);
	if (read_sysfs(OWNER_GROUP_PARAM, self->owner_group,
		       sizeof(self->owner_group)))
		self->owner_group[0] = '\0';
}

/*
 * In the parent, so that it runs even after a crash, with the case's files
 * closed: the devices bound again get their old render nodes back, which
 * the binaries after this one open by number.
 */
FIXTURE_TEARDOWN_PARENT(sysfs)
{
	bool rebind = false;
	char now[16];
	int i, minor;

	if (self->owner_group[0] &&
	    !read_sysfs(OWNER_GROUP_PARAM, now, sizeof(now)) &&
	    strcmp(now, self->owner_group)) {
		EXPECT_EQ(0, write_sysfs(OWNER_GROUP_PARAM, self->owner_group));
		rebind = true;
	}
	for (i = 0; i < self->ndevs; i++)
		if (rebind && device_bound(&self->devs[i]))
			EXPECT_EQ(0, device_driver_write(&self->devs[i],
							 "unbind"));
	for (i = 0; i < self->ndevs; i++)
		if (!device_bound(&self->devs[i]))
			EXPECT_EQ(0, device_driver_write(&self->devs[i], "bind"))
				TH_LOG("bind %s again", self->devs[i].name);
	for (i = 0; i < self->ndevs; i++) {
		minor = wait_render_node(&self->devs[i]);
		EXPECT_EQ(self->devs[i].minor, minor)
			TH_LOG("%s had renderD%d and has renderD%d now",
			       self->devs[i].name, self->devs[i].minor, minor);
	}
}

/*
 * Unbinds every device, then binds them again in render minor order, so
 * that with no file open each gets its node back; stores the new minors.
 */
static void rebind_all(struct __test_metadata *_metadata,
		       const struct bound_device *devs, int n, int *minors)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = device_driver_write(&devs[i], "unbind");
		ASSERT_EQ(0, ret)
			TH_LOG("unbind %s: %s", devs[i].name, strerror(-ret));
	}
	for (i = 0; i < n; i++) {
		ret = device_driver_write(&devs[i], "bind");
		ASSERT_EQ(0, ret)
			TH_LOG("bind %s: %s", devs[i].name, strerror(-ret));
		minors[i] = wait_render_node(&devs[i]);
		ASSERT_LE(0, minors[i])
			TH_LOG("no render node for %s %d ms after bind",
			       devs[i].name, HANG_MS);
	}
}

TEST_F_TIMEOUT(sysfs, unbind_with_pages_in_vram, 120)
{
	const struct bound_device *dev = &self->devs[0];
	struct vsvm_gpu g, again;
	size_t size = 16 * PAGE;
	char *buf = map_buf(_metadata, size);
	struct drm_vsvm_stats st;
	struct drm_vsvm_exec e;
	int minor, ret;

	ASSERT_TRUE(gpu_open(_metadata, &g, dev->minor, false));
	vsvm_pattern_fill(buf, size, 50);
	ret = vsvm_prefetch(g.fd, g.vm, DRM_VSVM_REGION_VRAM, buf, size, 0);
	ASSERT_EQ(0, ret) TH_LOG("prefetch: %s", strerror(-ret));
	expect_vram_mapped(_metadata, &g, size / PAGE,
			   "a prefetch to VRAM before the unbind");

	/* The file stays open across the unbind. */
	ret = device_driver_write(dev, "unbind");
	ASSERT_EQ(0, ret) TH_LOG("unbind %s: %s", dev->name, strerror(-ret));
	ASSERT_EQ(-1, render_minor_of(dev->name))
		TH_LOG("%s unbound, yet it has a render node", dev->name);
	expect_pattern(_metadata, buf, 0, size, 50,
		       "CPU read of what was in the VRAM of an unbound device");
	e = job_args(&g, DRM_VSVM_OP_FILL, buf, NULL, size, 1, 0);
	ret = vsvm_exec(g.fd, &e);
	ASSERT_EQ(-ENODEV, ret)
		TH_LOG("a job on a file of an unbound device: %s",
		       ret ? strerror(-ret) : "ran");
	ASSERT_EQ(-ENODEV, vsvm_prefetch(g.fd, g.vm, DRM_VSVM_REGION_VRAM, buf,
					 size, 0));
	ASSERT_EQ(-ENODEV, vsvm_stats(g.fd, g.vm, &st));
	expect_pattern(_metadata, buf, 0, size, 50,
		       "CPU read after the rejected job");

	/* Its last file gone, the old instance frees its render minor. */
	close(g.fd);
	ret = device_driver_write(dev, "bind");
	ASSERT_EQ(0, ret) TH_LOG("bind %s: %s", dev->name, strerror(-ret));
	minor = wait_render_node(dev);
	ASSERT_LE(0, minor)
		TH_LOG("no render node for %s %d ms after bind", dev->name,
		       HANG_MS);
	ASSERT_TRUE(gpu_open(_metadata, &again, minor, false));

	ASSERT_EQ(vsvm_pattern_checksum(50, 0, size),
		  gpu_checksum(_metadata, &again, buf, size))
		TH_LOG("the device bound again should read the evicted data");
	ret = vsvm_prefetch(again.fd, again.vm, DRM_VSVM_REGION_VRAM, buf,
			    size, 0);
	ASSERT_EQ(0, ret) TH_LOG("prefetch after bind: %s", strerror(-ret));
	expect_vram_mapped(_metadata, &again, size / PAGE,
			   "a prefetch to the VRAM of the device bound again");
	gpu_fill(_metadata, &again, buf, size, 0xb1dab1da);
	expect_words(_metadata, buf, size, 0xb1dab1da,
		     "CPU read of a fill by the device bound again");
	gpu_close(_metadata, &again);
}

TEST_F_TIMEOUT(sysfs, owner_group_maps_peer_vram_in_place, 120)
{
	size_t size = 16 * PAGE;
	char *buf = map_buf(_metadata, size);
	struct drm_vsvm_stats s0, s1, t1;
	struct vsvm_gpu g0, g1;
	int minors[MAX_DEVICES];
	int ret;

	if (self->ndevs < 2)
		SKIP(return, "one vsvm device only");
	ASSERT_NE('\0', self->owner_group[0])
		TH_LOG("no %s: the driver has no owner groups",
		       OWNER_GROUP_PARAM);
	ret = write_sysfs(OWNER_GROUP_PARAM, "1");
	ASSERT_EQ(0, ret) TH_LOG("owner_group=1: %s", strerror(-ret));
	rebind_all(_metadata, self->devs, self->ndevs, minors);

	ASSERT_TRUE(gpu_open(_metadata, &g0, minors[0], false));
	ASSERT_TRUE(gpu_open(_metadata, &g1, minors[1], false));
	ASSERT_EQ(1, g0.start.owner_group)
		TH_LOG("%s bound with owner_group=1 is in no group",
		       self->devs[0].name);
	ASSERT_EQ(1, g1.start.owner_group)
		TH_LOG("%s bound with owner_group=1 is in no group",
		       self->devs[1].name);

	vsvm_pattern_fill(buf, size, 51);
	ret = vsvm_prefetch(g0.fd, g0.vm, DRM_VSVM_REGION_VRAM, buf, size, 0);
	ASSERT_EQ(0, ret) TH_LOG("prefetch to device 0: %s", strerror(-ret));
	s0 = stats_of(_metadata, &g0);
	ASSERT_LE(size / PAGE, s0.vm_vram_pages_mapped);

	ASSERT_EQ(vsvm_pattern_checksum(51, 0, size),
		  gpu_checksum(_metadata, &g1, buf, size))
		TH_LOG("device 1 should read the data in device 0's VRAM");
	s1 = stats_of(_metadata, &g0);
	t1 = stats_of(_metadata, &g1);
	ASSERT_LE(size / PAGE, t1.vm_peer_pages_mapped)
		TH_LOG("device 1 should map device 0's VRAM in place");
	ASSERT_EQ(s0.migrations_to_ram, s1.migrations_to_ram)
		TH_LOG("device 1's read moved device 0's VRAM to system memory");
	ASSERT_LE(size / PAGE, s1.vm_vram_pages_mapped)
		TH_LOG("device 0 should still map its VRAM");

	/* Device 1 writes, wherever it does; everybody reads it. */
	gpu_fill(_metadata, &g1, buf, size, 0xa11ed0ff);
	ASSERT_EQ(vsvm_value_checksum(0xa11ed0ff, size),
		  gpu_checksum(_metadata, &g0, buf, size))
		TH_LOG("device 0 should read device 1's fill");
	expect_words(_metadata, buf, size, 0xa11ed0ff, "CPU after both");
	gpu_close(_metadata, &g1);
	gpu_close(_metadata, &g0);
}

TEST_HARNESS_MAIN
