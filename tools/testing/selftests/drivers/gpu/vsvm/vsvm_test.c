// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm: what a process observes when a GPU shares its address space.
 *
 * A vsvm GPU VM mirrors the mm of the process that created it, so every case
 * works on plain mappings: the CPU writes data, GPU jobs fill, copy, checksum
 * or increment it with the pages in system memory or in the device's VRAM,
 * and the case checks what each side reads back, how jobs that meet a bad
 * address end, and the device's counters before and after. Cases run under
 * software emulation with a debug kernel, so buffers are small and every
 * deadline is a hang detector, never a speed check.
 *
 * Needs /dev/dri/renderD128 (device 0). Cases that also need renderD129
 * (device 1) or /dev/ram0 skip without them.
 *
 * Besides the uAPI header, the cases rely on these driver behaviours:
 *
 * - A job walks its span upwards and stops at the first word it cannot
 *   access: &drm_vsvm_exec.fault_addr is that word's address and nothing at
 *   or past it is written.
 * - Jobs work on any CPU mapping in system memory, MAP_SHARED anonymous
 *   memory included; only private anonymous memory goes to VRAM.
 * - A prefetch to VRAM of a few pages of private anonymous memory, with the
 *   device otherwise idle, migrates and maps all of them; the timeslice
 *   starts before the ioctl returns.
 * - A span mapped for the GPU stays mapped until something invalidates it:
 *   a second job over it raises no GPU fault.
 * - The ioctls fail with EINVAL for an unknown op, flag or region, a nonzero
 *   pad or create flag, an empty, unaligned, wrapping or over 1 GiB span,
 *   and overlapping copy spans; with ENOENT for a VM id the file does not
 *   have (VM ids are small: the fixture's id + 1000 names no VM).
 * - The last close of a file destroys its VMs, which cancels their jobs;
 *   VRAM whose pages lost their last CPU mapping is free within seconds.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE			VSVM_PAGE_SIZE
#define BUF_PAGES		16
#define BUF_SIZE		(BUF_PAGES * PAGE)

/* What "did not hang" means under TCG with KASAN and lockdep. */
#define HANG_MS			10000

/* A repeat count no job finishes: such a job ends when its VM goes away. */
#define LONG_REPEAT		0x40000000u

/* Pages of the long job that sit in VRAM while it runs. */
#define LONG_JOB_VRAM_PAGES	16
#define LONG_JOB_SIZE		((1 + LONG_JOB_VRAM_PAGES) * PAGE)

/* A VM on one vsvm device, and the device's counters when it was opened. */
#include "vsvm_harness.h"

/*
 * Opens device @index with a new VM; false if the device does not exist.
 * Earlier cases' processes may still be freeing VRAM: the counters are read
 * once that is done (or HANG_MS passed), so that a case sees its own VRAM.
 */
static bool gpu_open(struct __test_metadata *_metadata, struct vsvm_gpu *g,
		     int index, bool vram)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;

	g->fd = vsvm_open(index);
	if (g->fd == -ENOENT) {
		g->fd = -1;
		return false;
	}
	ASSERT_LE(0, g->fd)
		TH_LOG("open renderD%d: %s", 128 + index, strerror(-g->fd));
	ASSERT_EQ(0, vsvm_vm_create(g->fd, &g->vm))
		TH_LOG("renderD%d does not create VMs: not a vsvm device?",
		       128 + index);
	for (;;) {
		ASSERT_EQ(0, vsvm_stats(g->fd, 0, &g->start));
		if (!g->start.vram_pages_used || vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	g->vram = vram;
	return true;
}

static void gpu_copy(struct __test_metadata *_metadata,
		     const struct vsvm_gpu *g, void *dst, const void *src,
		     size_t size)
{
	struct drm_vsvm_exec e = job(_metadata, g, DRM_VSVM_OP_COPY, dst, src,
				     size, 0, 0);

	ASSERT_EQ(0, e.status)
		TH_LOG("GPU copy of %p+%#zx to %p: %s, expected success",
		       src, size, dst, job_end(&e));
}

/* A job the ioctl must reject with @err, before it runs. */
static void expect_exec_rejected(struct __test_metadata *_metadata,
				 const struct vsvm_gpu *g,
				 struct drm_vsvm_exec exec, int err,
				 const char *what)
{
	int ret = vsvm_exec(g->fd, &exec);

	ASSERT_EQ(-err, ret)
		TH_LOG("%s: ioctl returned %s, expected %s", what,
		       ret ? strerror(-ret) : "success", strerror(err));
}

/* Word i of @buf, read by the CPU, holds word i of pattern @seed + @inc. */
static void expect_pattern_plus(struct __test_metadata *_metadata,
				const __u32 *buf, size_t size, __u32 seed,
				__u32 inc, const char *what)
{
	size_t i;

	for (i = 0; i < size / 4; i++)
		if (buf[i] != vsvm_pattern_word(seed, i) + inc)
			break;
	ASSERT_EQ(size / 4, i)
		TH_LOG("%s: word %zu is %#x, expected %#x", what, i, buf[i],
		       vsvm_pattern_word(seed, i) + inc);
}

/*
 * The VM maps at least @size bytes: from VRAM when the case wants VRAM, else
 * from system memory only.
 */
static void expect_placed(struct __test_metadata *_metadata,
			  const struct vsvm_gpu *g, size_t size)
{
	struct drm_vsvm_stats st = stats_of(_metadata, g);

	if (g->vram) {
		ASSERT_LE(size / PAGE, st.vm_vram_pages_mapped)
			TH_LOG("%zu pages should be mapped from VRAM, %llu are",
			       size / PAGE,
			       (unsigned long long)st.vm_vram_pages_mapped);
	} else {
		ASSERT_LE(size / PAGE, st.vm_pages_mapped)
			TH_LOG("%zu pages should be mapped, %llu are",
			       size / PAGE,
			       (unsigned long long)st.vm_pages_mapped);
		ASSERT_EQ(0, st.vm_vram_pages_mapped)
			TH_LOG("no job asked for VRAM, yet pages are mapped from it");
	}
}

/*
 * Maps [@buf, @buf + @size) for the GPU with its pages where the case wants
 * them: prefetched to VRAM, or faulted in from system memory by a job.
 */
static void place(struct __test_metadata *_metadata, const struct vsvm_gpu *g,
		  const void *buf, size_t size)
{
	int ret;

	if (g->vram) {
		ret = vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				    size, 0);
		ASSERT_EQ(0, ret)
			TH_LOG("prefetch of %p+%#zx to VRAM: %s", buf, size,
			       strerror(-ret));
	} else {
		gpu_checksum(_metadata, g, buf, size);
	}
	expect_placed(_metadata, g, size);
}

/* A new VM on @g's file fills, and reads back, a new page. */
static void expect_vm_works(struct __test_metadata *_metadata,
			    const struct vsvm_gpu *g)
{
	struct vsvm_gpu fresh = *g;
	void *buf = map_buf(_metadata, PAGE);

	ASSERT_EQ(0, vsvm_vm_create(g->fd, &fresh.vm))
		TH_LOG("the device should still create VMs");
	gpu_fill(_metadata, &fresh, buf, PAGE, 0x600dcafe);
	ASSERT_EQ(vsvm_value_checksum(0x600dcafe, PAGE),
		  gpu_checksum(_metadata, &fresh, buf, PAGE));
	expect_words(_metadata, buf, PAGE, 0x600dcafe, "fill by a new VM");
	ASSERT_EQ(0, vsvm_vm_destroy(g->fd, fresh.vm));

	/* And so does @g's own VM. */
	gpu_fill(_metadata, g, buf, PAGE, 0x0ddba11);
	expect_words(_metadata, buf, PAGE, 0x0ddba11, "fill by the old VM");
	munmap(buf, PAGE);
}

/* Polls device @g until at most @pages VRAM pages are in use. */
static void expect_vram_used_at_most(struct __test_metadata *_metadata,
				     const struct vsvm_gpu *g, __u64 pages,
				     const char *what)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	struct drm_vsvm_stats st;

	for (;;) {
		ASSERT_EQ(0, vsvm_stats(g->fd, 0, &st));
		if (st.vram_pages_used <= pages || vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	ASSERT_GE(pages, st.vram_pages_used)
		TH_LOG("%s: %llu VRAM pages in use after %d ms, expected at most %llu",
		       what, (unsigned long long)st.vram_pages_used, HANG_MS,
		       (unsigned long long)pages);
}

/*
 * Child side of the fork cases: closes the parent's end of @go, waits for
 * the parent's byte on it (unless @go is NULL), then checks its own view of
 * @buf. A parent that dies closes the pipe, so the child never lingers.
 */
static void __noreturn
child_expect(int *go, const void *buf, size_t size, __u32 expected,
	     bool pattern)
{
	long bad;

	if (go) {
		close(go[1]);
		if (vsvm_wait_byte(go[0]) != 1)
			_exit(2);
	}
	bad = pattern ? vsvm_pattern_mismatch(buf, 0, size, expected) :
			vsvm_value_mismatch(buf, size, expected);
	if (bad < 0)
		_exit(0);
	fprintf(stderr, "# child: word at +%#lx is %#x, expected %#x\n", bad,
		((const __u32 *)buf)[bad / 4],
		pattern ? vsvm_pattern_word(expected, bad / 4) : expected);
	_exit(1);
}

/* A job in a thread of its own, for jobs that run while the case acts. */
struct job_thread {
	int fd;
	struct drm_vsvm_exec exec;
	/* The ioctl's return: 0 or -errno. */
	int ret;
	/* Set, with release semantics, once @ret and @exec are final. */
	bool done;
	pthread_t tid;
};

static void *job_thread_run(void *arg)
{
	struct job_thread *jt = arg;

	jt->ret = vsvm_exec(jt->fd, &jt->exec);
	__atomic_store_n(&jt->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static bool job_thread_wait(struct job_thread *jt, unsigned int timeout_ms)
{
	__u64 deadline = vsvm_now_ms() + timeout_ms;

	while (!__atomic_load_n(&jt->done, __ATOMIC_ACQUIRE)) {
		if (vsvm_now_ms() > deadline)
			return false;
		usleep(VSVM_POLL_US);
	}
	return true;
}

/*
 * A job that only ends when its VM goes away: ATOMIC_INC, LONG_REPEAT times,
 * over one progress page followed by LONG_JOB_VRAM_PAGES pages prefetched to
 * VRAM. The progress page is MAP_SHARED: it never merges with the private
 * part (so the prefetch leaves it in system memory), the CPU can watch its
 * first word count the passes without moving anything, and a parent sees
 * the counting of a child's job.
 */
struct long_job {
	__u32 *progress;
	char *vram;
	struct job_thread job;
	/* How long one pass took, as expect_long_job_running() saw it. */
	__u64 pass_ms;
};

static bool long_job_map(struct long_job *lj)
{
	char *span = mmap(NULL, LONG_JOB_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (span == MAP_FAILED)
		return false;
	if (mmap(span, PAGE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return false;
	if (mmap(span + PAGE, LONG_JOB_VRAM_PAGES * PAGE,
		 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		return false;
	lj->progress = (__u32 *)span;
	lj->vram = span + PAGE;
	return true;
}

static void long_job_unmap(struct long_job *lj)
{
	munmap(lj->progress, LONG_JOB_SIZE);
}

/* Moves the private part to VRAM and starts the job; returns 0 or -errno. */
static int long_job_start(struct long_job *lj, int fd, __u32 vm)
{
	int ret;

	memset(lj->vram, 0x5a, LONG_JOB_VRAM_PAGES * PAGE);
	ret = vsvm_prefetch(fd, vm, DRM_VSVM_REGION_VRAM, lj->vram,
			    LONG_JOB_VRAM_PAGES * PAGE, 0);
	if (ret)
		return ret;

	lj->job.fd = fd;
	lj->job.exec = (struct drm_vsvm_exec) {
		.vm_id = vm,
		.op = DRM_VSVM_OP_ATOMIC_INC,
		.dst = vsvm_va(lj->progress),
		.size = LONG_JOB_SIZE,
		.value = 1,
		.repeat = LONG_REPEAT,
	};
	return -pthread_create(&lj->job.tid, NULL, job_thread_run, &lj->job);
}

static __u32 long_job_passes(const struct long_job *lj)
{
	return __atomic_load_n(lj->progress, __ATOMIC_RELAXED);
}

/* Whether the job's process (@child, or 0 for this one) ended it already. */
static bool long_job_ended(struct long_job *lj, pid_t child, int *status)
{
	if (child)
		return waitpid(child, status, WNOHANG) == child;
	return __atomic_load_n(&lj->job.done, __ATOMIC_ACQUIRE);
}

/*
 * Waits until the job went round twice, so that it runs and has been through
 * its VRAM pages, and times a pass: the progress word is the first the job
 * increments, so it changes as each pass starts. @child is the process
 * running the job, or 0 for this one.
 */
static void expect_long_job_running(struct __test_metadata *_metadata,
				    struct long_job *lj, pid_t child)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	__u64 changed[2] = { 0, 0 };
	__u32 passes, seen = 0;
	bool ended = false;
	int changes = 0;
	int status = 0;

	for (;;) {
		passes = long_job_passes(lj);
		if (passes != seen) {
			seen = passes;
			changed[changes++ % 2] = vsvm_now_ms();
			if (changes >= 2 && passes >= 2)
				break;
		}
		ended = long_job_ended(lj, child, &status);
		if (ended || vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	ASSERT_FALSE(ended && child)
		TH_LOG("the child ended before its job went round: exit code %d, signal %d",
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	ASSERT_FALSE(ended)
		TH_LOG("the long job ended: ioctl %d, %s",
		       lj->job.ret, job_end(&lj->job.exec));
	ASSERT_LE(2, changes)
		TH_LOG("the long job did not go round twice in %d ms", HANG_MS);
	lj->pass_ms = changed[(changes - 1) % 2] - changed[changes % 2];
}

/*
 * Asserts that the job no longer runs: its progress word keeps still for
 * three passes' time, within HANG_MS.
 */
static void expect_long_job_stopped(struct __test_metadata *_metadata,
				    const struct long_job *lj,
				    const char *what)
{
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	__u64 still_ms = 3 * lj->pass_ms < 500 ? 500 : 3 * lj->pass_ms;
	__u32 before, after;

	do {
		before = long_job_passes(lj);
		usleep(still_ms * 1000);
		after = long_job_passes(lj);
	} while (before != after && vsvm_now_ms() < deadline);
	ASSERT_EQ(before, after)
		TH_LOG("%s: the job still goes round (%u then %u passes)",
		       what, before, after);
}

FIXTURE(placement) {
	struct vsvm_gpu gpu;	/* renderD128 */
	struct vsvm_gpu gpu1;	/* renderD129, once a case opened it */
};

FIXTURE_VARIANT(placement) {
	bool vram;
};

FIXTURE_VARIANT_ADD(placement, sysmem) {
	.vram = false,
};

FIXTURE_VARIANT_ADD(placement, vram) {
	.vram = true,
};

FIXTURE_SETUP(placement)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	self->gpu1.fd = -1;
	if (!gpu_open(_metadata, &self->gpu, 0, variant->vram))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(placement)
{
	gpu_close(_metadata, &self->gpu1);
	gpu_close(_metadata, &self->gpu);
}

TEST_F(placement, gpu_fill_is_seen_by_cpu)
{
	void *buf = map_buf(_metadata, BUF_SIZE);

	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0x5a5aa5a5);
	expect_placed(_metadata, &self->gpu, BUF_SIZE);
	expect_words(_metadata, buf, BUF_SIZE, 0x5a5aa5a5,
		     "CPU read of a GPU fill");
}

TEST_F(placement, gpu_checksum_matches_cpu_data)
{
	__u32 *buf = map_buf(_metadata, BUF_SIZE);
	__u64 expected;

	vsvm_pattern_fill(buf, BUF_SIZE, 1);
	place(_metadata, &self->gpu, buf, BUF_SIZE);
	ASSERT_EQ(vsvm_pattern_checksum(1, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the GPU should read what the CPU wrote");

	/* A CPU write to a mapped page reaches the GPU too. */
	buf[BUF_SIZE / 8] = 0xfeedf00d;
	expected = vsvm_checksum(buf, BUF_SIZE);
	ASSERT_EQ(expected, gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the GPU should read the CPU's later write");
}

TEST_F(placement, gpu_copy_round_trip)
{
	void *src = map_buf(_metadata, BUF_SIZE);
	void *dst = map_buf(_metadata, BUF_SIZE);

	vsvm_pattern_fill(src, BUF_SIZE, 2);
	vsvm_pattern_fill(dst, BUF_SIZE, 3);
	place(_metadata, &self->gpu, src, BUF_SIZE);
	place(_metadata, &self->gpu, dst, BUF_SIZE);

	gpu_copy(_metadata, &self->gpu, dst, src, BUF_SIZE);
	expect_pattern(_metadata, dst, 0, BUF_SIZE, 2, "copy destination");
	expect_pattern(_metadata, src, 0, BUF_SIZE, 2, "copy source");
}

TEST_F(placement, gpu_atomic_inc_round_trip)
{
	__u32 *buf = map_buf(_metadata, BUF_SIZE);

	vsvm_pattern_fill(buf, BUF_SIZE, 4);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	gpu_atomic_inc(_metadata, &self->gpu, buf, BUF_SIZE, 3, 5);
	expect_pattern_plus(_metadata, buf, BUF_SIZE, 4, 15,
			    "5 passes of +3 over pattern 4");
}

TEST_F(placement, concurrent_atomic_inc_jobs_add_up)
{
	struct job_thread jt[2];
	__u32 *buf = map_buf(_metadata, PAGE);
	int i;

	vsvm_pattern_fill(buf, PAGE, 5);
	place(_metadata, &self->gpu, buf, PAGE);

	for (i = 0; i < 2; i++) {
		memset(&jt[i], 0, sizeof(jt[i]));
		jt[i].fd = self->gpu.fd;
		jt[i].exec = job_args(&self->gpu, DRM_VSVM_OP_ATOMIC_INC, buf,
				      NULL, PAGE, 1, 8);
		ASSERT_EQ(0, pthread_create(&jt[i].tid, NULL, job_thread_run,
					    &jt[i]));
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pthread_join(jt[i].tid, NULL));
		ASSERT_EQ(0, jt[i].ret);
		ASSERT_EQ(0, jt[i].exec.status)
			TH_LOG("job %d: %s", i, job_end(&jt[i].exec));
	}
	expect_pattern_plus(_metadata, buf, PAGE, 5, 16,
			    "two jobs of 8 passes of +1 over pattern 5");
}

TEST_F(placement, first_touch_faults_second_job_does_not)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats s0, s1, s2;
	struct drm_vsvm_exec e;

	s0 = stats_of(_metadata, g);
	e = job(_metadata, g, DRM_VSVM_OP_FILL, buf, NULL, BUF_SIZE, 1, 0);
	ASSERT_EQ(0, e.status) TH_LOG("%s", job_end(&e));
	ASSERT_LT(0, e.gpu_faults)
		TH_LOG("nothing was mapped: the first job must fault");
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.gpu_faults, s1.gpu_faults);
	ASSERT_LT(s0.jobs, s1.jobs);
	expect_placed(_metadata, g, BUF_SIZE);

	e = job(_metadata, g, DRM_VSVM_OP_FILL, buf, NULL, BUF_SIZE, 2, 0);
	ASSERT_EQ(0, e.status) TH_LOG("%s", job_end(&e));
	ASSERT_EQ(0, e.gpu_faults)
		TH_LOG("the span is mapped: the second job must not fault");
	s2 = stats_of(_metadata, g);
	ASSERT_EQ(s1.gpu_faults, s2.gpu_faults);
	expect_words(_metadata, buf, BUF_SIZE, 2, "second fill");
}

TEST_F(placement, second_vm_sees_first_vm_writes)
{
	struct vsvm_gpu other = self->gpu;
	void *buf = map_buf(_metadata, BUF_SIZE);

	ASSERT_EQ(0, vsvm_vm_create(other.fd, &other.vm));
	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0x11111111);
	ASSERT_EQ(vsvm_value_checksum(0x11111111, BUF_SIZE),
		  gpu_checksum(_metadata, &other, buf, BUF_SIZE))
		TH_LOG("the second VM should read the first VM's fill");
	gpu_fill(_metadata, &other, buf, BUF_SIZE, 0x22222222);
	ASSERT_EQ(vsvm_value_checksum(0x22222222, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the first VM should read the second VM's fill");
	expect_words(_metadata, buf, BUF_SIZE, 0x22222222, "CPU after both");
	ASSERT_EQ(0, vsvm_vm_destroy(other.fd, other.vm));
}

TEST_F(placement, two_devices_see_each_other_writes)
{
	void *buf = map_buf(_metadata, BUF_SIZE);

	if (!gpu_open(_metadata, &self->gpu1, 1, variant->vram))
		SKIP(return, "no /dev/dri/renderD129: one vsvm device only");

	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0x0d0d0d0d);
	ASSERT_EQ(vsvm_value_checksum(0x0d0d0d0d, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu1, buf, BUF_SIZE))
		TH_LOG("device 1 should read device 0's fill");
	gpu_fill(_metadata, &self->gpu1, buf, BUF_SIZE, 0x1d1d1d1d);
	ASSERT_EQ(vsvm_value_checksum(0x1d1d1d1d, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("device 0 should read device 1's fill");
	expect_words(_metadata, buf, BUF_SIZE, 0x1d1d1d1d, "CPU after both");
}

TEST_F(placement, fork_child_reads_gpu_results)
{
	void *buf = map_buf(_metadata, BUF_SIZE);
	pid_t pid;

	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0xc0ffee11);
	expect_placed(_metadata, &self->gpu, BUF_SIZE);

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_expect(NULL, buf, BUF_SIZE, 0xc0ffee11, false);
	expect_child_ok(_metadata, pid,
			"child reads what the GPU wrote before fork");

	/* The child's reads leave the parent's pages and mapping alone. */
	ASSERT_EQ(vsvm_value_checksum(0xc0ffee11, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE));
	expect_words(_metadata, buf, BUF_SIZE, 0xc0ffee11, "parent after fork");
}

TEST_F(placement, fork_parent_cpu_write_seen_by_parent_gpu)
{
	void *buf = map_buf(_metadata, BUF_SIZE);
	void *dst = map_buf(_metadata, BUF_SIZE);
	int go[2];
	pid_t pid;

	vsvm_pattern_fill(buf, BUF_SIZE, 6);
	place(_metadata, &self->gpu, buf, BUF_SIZE);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_expect(go, buf, BUF_SIZE, 6, true);
	close(go[0]);

	/* Each write breaks COW: the GPU must leave the page the child keeps. */
	vsvm_pattern_fill(buf, BUF_SIZE, 7);
	ASSERT_EQ(vsvm_pattern_checksum(7, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the parent's GPU should read its new data, not the pages shared at fork");
	gpu_copy(_metadata, &self->gpu, dst, buf, BUF_SIZE);
	expect_pattern(_metadata, dst, 0, BUF_SIZE, 7,
		       "GPU copy of the parent's new data");

	vsvm_send_byte(go[1]);
	expect_child_ok(_metadata, pid,
			"child keeps its pre-fork data after the parent's CPU write");
}

TEST_F(placement, fork_parent_gpu_write_not_seen_by_child)
{
	void *buf = map_buf(_metadata, BUF_SIZE);
	int go[2];
	pid_t pid;

	vsvm_pattern_fill(buf, BUF_SIZE, 8);
	place(_metadata, &self->gpu, buf, BUF_SIZE);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_expect(go, buf, BUF_SIZE, 8, true);
	close(go[0]);

	/* Fork write-protected the pages: a GPU write must break COW too. */
	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0xdeadbeef);
	ASSERT_EQ(vsvm_value_checksum(0xdeadbeef, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE));
	expect_words(_metadata, buf, BUF_SIZE, 0xdeadbeef,
		     "parent's CPU read of its GPU's fill after fork");

	vsvm_send_byte(go[1]);
	expect_child_ok(_metadata, pid,
			"child keeps its pre-fork data after the parent's GPU write");
}

/*
 * Child of fork_child_snapshot_survives_parent_gpu_write: snapshots its view
 * of @buf, tells the parent, and after the parent's go checks that its view
 * did not change.
 */
static void __noreturn
child_snapshot(int *go, int *ready, const void *buf, size_t size, __u32 seed)
{
	void *snapshot = malloc(size);

	close(go[1]);
	close(ready[0]);
	if (!snapshot)
		_exit(3);
	memcpy(snapshot, buf, size);
	if (vsvm_pattern_mismatch(snapshot, 0, size, seed) >= 0)
		_exit(4);
	vsvm_send_byte(ready[1]);
	if (vsvm_wait_byte(go[0]) != 1)
		_exit(2);
	_exit(memcmp(snapshot, buf, size) ? 1 : 0);
}

TEST_F(placement, fork_child_snapshot_survives_parent_gpu_write)
{
	void *buf = map_buf(_metadata, BUF_SIZE);
	int go[2], ready[2];
	pid_t pid;

	vsvm_pattern_fill(buf, BUF_SIZE, 9);
	place(_metadata, &self->gpu, buf, BUF_SIZE);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		child_snapshot(go, ready, buf, BUF_SIZE, 9);
	close(go[0]);
	close(ready[1]);
	if (vsvm_wait_byte(ready[0]) != 1)
		expect_child_ok(_metadata, pid, "child snapshot of pattern 9");

	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0xabababab);
	expect_words(_metadata, buf, BUF_SIZE, 0xabababab,
		     "parent's CPU read of its GPU's fill after fork");

	vsvm_send_byte(go[1]);
	expect_child_ok(_metadata, pid,
			"child's pages equal its snapshot after the parent's GPU write");
}

TEST_F(placement, mprotect_read_only_blocks_gpu_write)
{
	char *buf = map_buf(_metadata, BUF_SIZE);

	vsvm_pattern_fill(buf, BUF_SIZE, 10);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	ASSERT_EQ(0, mprotect(buf, BUF_SIZE, PROT_READ));
	expect_job_fault(_metadata, &self->gpu, DRM_VSVM_OP_FILL, buf, BUF_SIZE,
			 -EPERM, buf, "GPU write to a PROT_READ buffer");
	ASSERT_EQ(vsvm_pattern_checksum(10, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the failed GPU write must change nothing; reads still work");
	expect_pattern(_metadata, buf, 0, BUF_SIZE, 10,
		       "CPU read after the failed GPU write");

	ASSERT_EQ(0, mprotect(buf, BUF_SIZE, PROT_READ | PROT_WRITE));
	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0x77777777);
	expect_words(_metadata, buf, BUF_SIZE, 0x77777777,
		     "CPU read of a GPU write after PROT_READ | PROT_WRITE again");
}

TEST_F(placement, mprotect_read_only_page_stops_gpu_write)
{
	char *buf = map_buf(_metadata, BUF_SIZE);
	char *ro = buf + BUF_SIZE / 2;

	vsvm_pattern_fill(buf, BUF_SIZE, 11);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ));
	expect_job_fault(_metadata, &self->gpu, DRM_VSVM_OP_FILL, buf, BUF_SIZE,
			 -EPERM, ro, "GPU fill over one PROT_READ page");
	expect_pattern(_metadata, buf, ro - buf, BUF_SIZE - (ro - buf), 11,
		       "the PROT_READ page and the pages after it");

	ASSERT_EQ(0, mprotect(ro, PAGE, PROT_READ | PROT_WRITE));
	gpu_fill(_metadata, &self->gpu, buf, BUF_SIZE, 0x88888888);
	expect_words(_metadata, buf, BUF_SIZE, 0x88888888,
		     "GPU fill once the page is writable again");
}

TEST_F(placement, mprotect_none_blocks_gpu_read)
{
	char *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, BUF_SIZE, 12);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	ASSERT_EQ(0, mprotect(buf, BUF_SIZE, PROT_NONE));
	e = job(_metadata, &self->gpu, DRM_VSVM_OP_CHECKSUM, NULL, buf,
		BUF_SIZE, 0, 0);
	ASSERT_TRUE(e.status == -EPERM || e.status == -EFAULT)
		TH_LOG("GPU read of PROT_NONE memory: %s, expected -EPERM or -EFAULT",
		       job_end(&e));
	ASSERT_EQ(vsvm_va(buf), e.fault_addr)
		TH_LOG("the first word read should be the fault address");

	ASSERT_EQ(0, mprotect(buf, BUF_SIZE, PROT_READ));
	ASSERT_EQ(vsvm_pattern_checksum(12, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("after PROT_READ again the GPU should read the old data");
	expect_pattern(_metadata, buf, 0, BUF_SIZE, 12, "CPU after PROT_READ");
}

TEST_F(placement, mremap_maymove_moves_gpu_view)
{
	char *buf = map_buf(_metadata, BUF_SIZE + PAGE);
	char *moved;

	/* A guard page after the buffer, so that growing it must move it. */
	ASSERT_EQ(0, mprotect(buf + BUF_SIZE, PAGE, PROT_NONE));
	vsvm_pattern_fill(buf, BUF_SIZE, 13);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	moved = mremap(buf, BUF_SIZE, 2 * BUF_SIZE, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_NE(buf, moved) TH_LOG("the guard page should force a move");

	ASSERT_EQ(vsvm_pattern_checksum(13, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, moved, BUF_SIZE))
		TH_LOG("the GPU should read the data at the new address");
	ASSERT_EQ(0, gpu_checksum(_metadata, &self->gpu, moved + BUF_SIZE,
				  BUF_SIZE))
		TH_LOG("the grown part should read as zeros");
	expect_job_fault(_metadata, &self->gpu, DRM_VSVM_OP_CHECKSUM, buf,
			 BUF_SIZE, -EFAULT, buf, "GPU read at the old address");
	expect_pattern(_metadata, moved, 0, BUF_SIZE, 13, "CPU at the new address");
}

TEST_F(placement, mremap_fixed_moves_gpu_view)
{
	char *buf = map_buf(_metadata, BUF_SIZE);
	char *target = mmap(NULL, BUF_SIZE, PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *moved;

	ASSERT_NE(MAP_FAILED, target);
	vsvm_pattern_fill(buf, BUF_SIZE, 14);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	moved = mremap(buf, BUF_SIZE, BUF_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
		       target);
	ASSERT_EQ(target, moved);

	ASSERT_EQ(vsvm_pattern_checksum(14, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, moved, BUF_SIZE))
		TH_LOG("the GPU should read the data at the new address");
	expect_job_fault(_metadata, &self->gpu, DRM_VSVM_OP_CHECKSUM, buf,
			 BUF_SIZE, -EFAULT, buf, "GPU read at the old address");
	expect_pattern(_metadata, moved, 0, BUF_SIZE, 14, "CPU at the new address");
}

TEST_F(placement, mremap_dontunmap_leaves_old_address_empty)
{
	char *buf = map_buf(_metadata, BUF_SIZE);
	char *moved;

	vsvm_pattern_fill(buf, BUF_SIZE, 15);
	place(_metadata, &self->gpu, buf, BUF_SIZE);

	/* The hint is read from the fifth argument with DONTUNMAP too. */
	moved = mremap(buf, BUF_SIZE, BUF_SIZE,
		       MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (moved == MAP_FAILED && errno == EINVAL)
		SKIP(return, "the kernel refuses MREMAP_DONTUNMAP");
	ASSERT_NE(MAP_FAILED, moved);
	ASSERT_NE(buf, moved);

	ASSERT_EQ(vsvm_pattern_checksum(15, 0, BUF_SIZE),
		  gpu_checksum(_metadata, &self->gpu, moved, BUF_SIZE))
		TH_LOG("the GPU should read the data at the new address");
	ASSERT_EQ(0, gpu_checksum(_metadata, &self->gpu, buf, BUF_SIZE))
		TH_LOG("the old address stays mapped but empty: the GPU should read zeros");
	expect_words(_metadata, buf, BUF_SIZE, 0, "CPU at the old address");
	expect_pattern(_metadata, moved, 0, BUF_SIZE, 15, "CPU at the new address");
}

/*
 * Unmaps pages [@first, @first + @count) of a patterned buffer, before the
 * GPU used it or after, and checks that GPU accesses to the hole fail where
 * the hole starts while the rest of the buffer keeps its data.
 */
static void check_munmap(struct __test_metadata *_metadata,
			 const struct vsvm_gpu *g, size_t first, size_t count,
			 bool gpu_before)
{
	char *buf = map_buf(_metadata, BUF_SIZE);
	char *hole = buf + first * PAGE;
	char *after = hole + count * PAGE;
	size_t tail = buf + BUF_SIZE - after;
	__u32 seed = 16 + first * 2 + gpu_before;

	vsvm_pattern_fill(buf, BUF_SIZE, seed);
	if (gpu_before)
		place(_metadata, g, buf, BUF_SIZE);
	ASSERT_EQ(0, munmap(hole, count * PAGE));

	expect_job_fault(_metadata, g, DRM_VSVM_OP_CHECKSUM, buf, BUF_SIZE,
			 -EFAULT, hole, "GPU read across the hole");
	expect_job_fault(_metadata, g, DRM_VSVM_OP_FILL, after - PAGE, PAGE,
			 -EFAULT, after - PAGE, "GPU write inside the hole");

	if (hole > buf) {
		ASSERT_EQ(vsvm_pattern_checksum(seed, 0, hole - buf),
			  gpu_checksum(_metadata, g, buf, hole - buf))
			TH_LOG("GPU read before the hole");
		expect_pattern(_metadata, buf, 0, hole - buf, seed,
			       "CPU read before the hole");
	}
	if (tail) {
		ASSERT_EQ(vsvm_pattern_checksum(seed, after - buf, tail),
			  gpu_checksum(_metadata, g, after, tail))
			TH_LOG("GPU read after the hole");
		expect_pattern(_metadata, buf, after - buf, tail, seed,
			       "CPU read after the hole");
	}
	if (hole > buf)
		munmap(buf, hole - buf);
	if (tail)
		munmap(after, tail);
}

TEST_F(placement, munmap_whole)
{
	check_munmap(_metadata, &self->gpu, 0, BUF_PAGES, false);
	check_munmap(_metadata, &self->gpu, 0, BUF_PAGES, true);
}

TEST_F(placement, munmap_head)
{
	check_munmap(_metadata, &self->gpu, 0, 4, false);
	check_munmap(_metadata, &self->gpu, 0, 4, true);
}

TEST_F(placement, munmap_middle)
{
	check_munmap(_metadata, &self->gpu, 6, 4, false);
	check_munmap(_metadata, &self->gpu, 6, 4, true);
}

TEST_F(placement, munmap_tail)
{
	check_munmap(_metadata, &self->gpu, BUF_PAGES - 4, 4, false);
	check_munmap(_metadata, &self->gpu, BUF_PAGES - 4, 4, true);
}

#define CYCLES		20
#define CYCLE_PAGES	4

/*
 * Each cycle's buffer has at most a range per page. Unmapped ranges may
 * linger until a later fault collects them, so two cycles' worth may be
 * counted at once; more means that ranges of unmapped buffers pile up.
 */
TEST_F_TIMEOUT(placement, munmap_cycles_keep_ranges_bounded, 120)
{
	const struct vsvm_gpu *g = &self->gpu;
	struct drm_vsvm_stats start, st;
	void *buf;
	int i;

	start = stats_of(_metadata, g);
	for (i = 1; i <= CYCLES; i++) {
		buf = map_buf(_metadata, CYCLE_PAGES * PAGE);
		gpu_fill(_metadata, g, buf, CYCLE_PAGES * PAGE, i);
		ASSERT_EQ(vsvm_value_checksum(i, CYCLE_PAGES * PAGE),
			  gpu_checksum(_metadata, g, buf, CYCLE_PAGES * PAGE));
		ASSERT_EQ(0, munmap(buf, CYCLE_PAGES * PAGE));

		st = stats_of(_metadata, g);
		ASSERT_GE(start.vm_ranges + 2 * CYCLE_PAGES, st.vm_ranges)
			TH_LOG("cycle %d: %llu ranges, expected at most %llu: stale ranges pile up",
			       i, (unsigned long long)st.vm_ranges,
			       (unsigned long long)start.vm_ranges + 2 * CYCLE_PAGES);
	}
	expect_vram_used_at_most(_metadata, g, start.vram_pages_used,
				 "VRAM of unmapped buffers");
}

FIXTURE(vsvm) {
	struct vsvm_gpu gpu;	/* renderD128, system memory jobs */
	struct vsvm_gpu gpu1;	/* renderD129, once a case opened it */
};

FIXTURE_SETUP(vsvm)
{
	ASSERT_EQ(PAGE, (unsigned long)sysconf(_SC_PAGESIZE));
	self->gpu1.fd = -1;
	if (!gpu_open(_metadata, &self->gpu, 0, false))
		SKIP(return, "no /dev/dri/renderD128: no vsvm device");
}

FIXTURE_TEARDOWN(vsvm)
{
	gpu_close(_metadata, &self->gpu1);
	gpu_close(_metadata, &self->gpu);
}

TEST_F(vsvm, prefetch_to_vram_maps_for_gpu)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats s0, s1, s2;
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, BUF_SIZE, 40);
	s0 = stats_of(_metadata, g);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   BUF_SIZE, 0));
	s1 = stats_of(_metadata, g);
	ASSERT_LE(BUF_PAGES, s1.vm_vram_pages_mapped);
	ASSERT_LT(s0.migrations_to_vram, s1.migrations_to_vram);
	ASSERT_LE(s0.bytes_to_vram + BUF_SIZE, s1.bytes_to_vram)
		TH_LOG("the CPU's data should have been copied to VRAM");
	ASSERT_LE(s0.vram_pages_used + BUF_PAGES, s1.vram_pages_used);

	e = job(_metadata, g, DRM_VSVM_OP_CHECKSUM, NULL, buf, BUF_SIZE, 0, 0);
	ASSERT_EQ(0, e.status) TH_LOG("%s", job_end(&e));
	ASSERT_EQ(0, e.gpu_faults)
		TH_LOG("a prefetched span is mapped: the job must not fault");
	ASSERT_EQ(vsvm_pattern_checksum(40, 0, BUF_SIZE), e.result)
		TH_LOG("the GPU should read the CPU's data from VRAM");
	s2 = stats_of(_metadata, g);
	ASSERT_EQ(s1.gpu_faults, s2.gpu_faults);
	ASSERT_EQ(s1.migrations_to_ram, s2.migrations_to_ram)
		TH_LOG("a GPU read from VRAM should move nothing back");
	ASSERT_LE(BUF_PAGES, s2.vm_vram_pages_mapped);
}

TEST_F(vsvm, cpu_touch_after_prefetch_migrates_back)
{
	const struct vsvm_gpu *g = &self->gpu;
	__u32 *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats s0, s1;
	__u64 expected;

	vsvm_pattern_fill(buf, BUF_SIZE, 41);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   BUF_SIZE, 0));
	s0 = stats_of(_metadata, g);
	ASSERT_LE(BUF_PAGES, s0.vm_vram_pages_mapped);

	expect_pattern(_metadata, buf, 0, BUF_SIZE, 41,
		       "CPU read of pages in VRAM");
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_ram, s1.migrations_to_ram)
		TH_LOG("the CPU read should have moved the pages back");
	ASSERT_LE(s0.bytes_to_ram + BUF_SIZE, s1.bytes_to_ram);
	ASSERT_EQ(0, s1.vm_vram_pages_mapped)
		TH_LOG("pages moved back must not stay mapped from VRAM");

	buf[7] = 0x12345678;
	expected = vsvm_checksum(buf, BUF_SIZE);
	ASSERT_EQ(expected, gpu_checksum(_metadata, g, buf, BUF_SIZE))
		TH_LOG("the GPU should read the CPU's write to the pages moved back");
}

TEST_F(vsvm, prefetch_to_system_evicts)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats s0, s1;

	vsvm_pattern_fill(buf, BUF_SIZE, 42);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   BUF_SIZE, 0));
	s0 = stats_of(_metadata, g);
	ASSERT_LE(BUF_PAGES, s0.vm_vram_pages_mapped);

	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_SYSTEM, buf,
				   BUF_SIZE, 0));
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.evictions, s1.evictions);
	ASSERT_LT(s0.migrations_to_ram, s1.migrations_to_ram);
	ASSERT_EQ(0, s1.vm_vram_pages_mapped)
		TH_LOG("evicted pages must not stay mapped from VRAM");
	expect_vram_used_at_most(_metadata, g, s0.vram_pages_used - BUF_PAGES,
				 "VRAM of an evicted buffer");

	ASSERT_EQ(vsvm_pattern_checksum(42, 0, BUF_SIZE),
		  gpu_checksum(_metadata, g, buf, BUF_SIZE))
		TH_LOG("the GPU should read the evicted data from system memory");
	ASSERT_EQ(0, stats_of(_metadata, g).vm_vram_pages_mapped);
	expect_pattern(_metadata, buf, 0, BUF_SIZE, 42, "CPU after eviction");
}

/*
 * More SVM memory than VRAM: prefetching twice the device's VRAM, 2M at a
 * time, evicts the least recently used allocations to make room; every byte
 * reads back right, from VRAM and from system memory. The guest boots with
 * a small VRAM (vsvm.vram_mb) so that this stays quick.
 */
TEST_F_TIMEOUT(vsvm, footprint_larger_than_vram, 180)
{
	const struct vsvm_gpu *g = &self->gpu;
	struct drm_vsvm_stats s0, s1;
	size_t size, off, chunk = 2UL << 20;
	char *map, *buf;

	s0 = stats_of(_metadata, g);
	size = 2 * s0.vram_pages_total * PAGE;
	if (!size || size > (64UL << 20))
		SKIP(return, "%llu pages of VRAM: boot with vsvm.vram_mb=16 or less",
		     (unsigned long long)s0.vram_pages_total);

	/* 2M-aligned, so that the ranges are 2M. */
	map = mmap(NULL, size + chunk, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	buf = (char *)(((unsigned long)map + chunk - 1) & ~(chunk - 1));
	vsvm_pattern_fill(buf, size, 46);

	for (off = 0; off < size; off += chunk)
		ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM,
					   buf + off, chunk, 0))
			TH_LOG("prefetch of 2M at +%#zx of %#zx to VRAM", off,
			       size);
	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.evictions, s1.evictions)
		TH_LOG("twice the VRAM cannot fit without evicting");
	ASSERT_LE(s0.bytes_to_vram + size, s1.bytes_to_vram);
	ASSERT_LE(s1.vram_pages_used, s1.vram_pages_total);
	ASSERT_LT(0, s1.vm_vram_pages_mapped)
		TH_LOG("the last chunks prefetched stay in VRAM");

	ASSERT_EQ(vsvm_pattern_checksum(46, 0, size),
		  gpu_checksum(_metadata, g, buf, size))
		TH_LOG("the GPU reads every byte, in VRAM or evicted");
	expect_pattern(_metadata, buf, 0, size, 46, "CPU after the evictions");
	ASSERT_EQ(0, munmap(map, size + chunk));
}

TEST_F(vsvm, released_iovas_are_checked)
{
	struct vsvm_gpu other = self->gpu;
	__u64 deadline = vsvm_now_ms() + HANG_MS;
	void *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats st;

	if (!self->gpu.start.behind_iommu)
		SKIP(return, "device 0 is not behind an IOMMU");

	/* Mapped by a VM of its own, so that destroying it releases all. */
	ASSERT_EQ(0, vsvm_vm_create(other.fd, &other.vm));
	vsvm_pattern_fill(buf, BUF_SIZE, 43);
	gpu_checksum(_metadata, &other, buf, BUF_SIZE);
	ASSERT_EQ(0, munmap(buf, BUF_SIZE));
	ASSERT_EQ(0, vsvm_vm_destroy(other.fd, other.vm));

	for (;;) {
		ASSERT_EQ(0, vsvm_stats(self->gpu.fd, 0, &st));
		if (st.iova_checks > self->gpu.start.iova_checks ||
		    vsvm_now_ms() > deadline)
			break;
		usleep(VSVM_POLL_US);
	}
	ASSERT_LT(self->gpu.start.iova_checks, st.iova_checks)
		TH_LOG("the IOVAs of an unmapped buffer were released unchecked");
}

TEST_F(vsvm, timeslice_holds_off_cpu_read)
{
	const struct vsvm_gpu *g = &self->gpu;
	__u32 *buf = map_buf(_metadata, 4 * PAGE);
	struct drm_vsvm_stats s0;
	__u64 start, elapsed;
	__u32 first;

	vsvm_pattern_fill(buf, 4 * PAGE, 44);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   4 * PAGE, 2000));
	start = vsvm_now_ms();
	s0 = stats_of(_metadata, g);
	ASSERT_LE(4, s0.vm_vram_pages_mapped);

	first = __atomic_load_n(buf, __ATOMIC_RELAXED);
	elapsed = vsvm_now_ms() - start;
	ASSERT_LE(1800, elapsed)
		TH_LOG("CPU read done %llu ms after the prefetch: timeslice of 2000 ms ignored",
		       (unsigned long long)elapsed);
	ASSERT_EQ(vsvm_pattern_word(44, 0), first);
	expect_pattern(_metadata, buf, 0, 4 * PAGE, 44,
		       "CPU read after the timeslice");
	ASSERT_LT(s0.migrations_to_ram, stats_of(_metadata, g).migrations_to_ram);
}

TEST_F(vsvm, timeslice_does_not_hold_off_odirect_read)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *src, *buf;
	__u64 start, elapsed;
	ssize_t done;
	int fd;

	if (access("/dev/ram0", F_OK))
		SKIP(return, "no /dev/ram0 (CONFIG_BLK_DEV_RAM)");
	fd = open("/dev/ram0", O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd) TH_LOG("open /dev/ram0 O_DIRECT: %s", strerror(errno));

	src = map_buf(_metadata, BUF_SIZE);
	vsvm_pattern_fill(src, BUF_SIZE, 45);
	ASSERT_EQ((ssize_t)BUF_SIZE, pwrite(fd, src, BUF_SIZE, 0));

	buf = map_buf(_metadata, BUF_SIZE);
	vsvm_pattern_fill(buf, BUF_SIZE, 46);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   BUF_SIZE, 20000));
	ASSERT_LE(BUF_PAGES, stats_of(_metadata, g).vm_vram_pages_mapped);

	start = vsvm_now_ms();
	done = pread(fd, buf, BUF_SIZE, 0);
	elapsed = vsvm_now_ms() - start;
	ASSERT_EQ((ssize_t)BUF_SIZE, done)
		TH_LOG("O_DIRECT read into pages in VRAM: %s", strerror(errno));
	ASSERT_GT(HANG_MS, elapsed)
		TH_LOG("O_DIRECT read took %llu ms: GUP must not wait for the timeslice",
		       (unsigned long long)elapsed);
	expect_pattern(_metadata, buf, 0, BUF_SIZE, 45,
		       "buffer after the O_DIRECT read from /dev/ram0");
	close(fd);
}

TEST_F(vsvm, timeslice_does_not_hold_off_other_device)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, BUF_SIZE);
	struct drm_vsvm_stats s0, s1;
	struct drm_vsvm_exec e;
	__u64 start, elapsed;

	if (!gpu_open(_metadata, &self->gpu1, 1, false))
		SKIP(return, "no /dev/dri/renderD129: one vsvm device only");

	vsvm_pattern_fill(buf, BUF_SIZE, 47);
	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM, buf,
				   BUF_SIZE, 20000));
	s0 = stats_of(_metadata, g);
	ASSERT_LE(BUF_PAGES, s0.vm_vram_pages_mapped);

	start = vsvm_now_ms();
	e = job(_metadata, &self->gpu1, DRM_VSVM_OP_CHECKSUM, NULL, buf,
		BUF_SIZE, 0, 0);
	elapsed = vsvm_now_ms() - start;
	ASSERT_EQ(0, e.status) TH_LOG("device 1's read: %s", job_end(&e));
	ASSERT_EQ(vsvm_pattern_checksum(47, 0, BUF_SIZE), e.result)
		TH_LOG("device 1 should read the data in device 0's VRAM");
	ASSERT_GT(HANG_MS, elapsed)
		TH_LOG("device 1's job took %llu ms: it must not wait for the timeslice",
		       (unsigned long long)elapsed);

	s1 = stats_of(_metadata, g);
	ASSERT_LT(s0.migrations_to_ram, s1.migrations_to_ram)
		TH_LOG("device 1's fault should have moved the pages out of device 0's VRAM");
	ASSERT_EQ(0, s1.vm_vram_pages_mapped)
		TH_LOG("device 0 must not map the pages from its VRAM any more");
}

#define RACE_THREADS	4
#define RACE_ROUNDS	20
#define RACE_ACCESSES	16

/* CPU threads that fault on one page while the main thread evicts it. */
struct race {
	/* Protects @round, @finished and @stop. */
	pthread_mutex_t lock;
	/* Signalled when a round starts or the threads must stop. */
	pthread_cond_t start;
	/* Signalled when a thread is done with the round. */
	pthread_cond_t done;
	int round;
	int finished;
	bool stop;
	__u32 *page;
	/* How many wrong values the threads saw, and the first of them. */
	int errors;
	char error[128];
};

struct racer {
	struct race *race;
	int index;
	pthread_t tid;
};

/* What thread @index writes to its own word in access @i of @round. */
static __u32 racer_value(int round, int index, int i)
{
	return (round << 16) | (index << 8) | i;
}

static void racer_access(struct race *race, int index, int round)
{
	size_t words = PAGE / 4 - RACE_THREADS;
	__u32 seen, value;
	size_t w;
	int i;

	for (i = 0; i < RACE_ACCESSES; i++) {
		w = RACE_THREADS + (index * 97 + i * 31) % words;
		seen = __atomic_load_n(&race->page[w], __ATOMIC_RELAXED);
		if (seen != vsvm_pattern_word(round, w) &&
		    !__atomic_fetch_add(&race->errors, 1, __ATOMIC_RELAXED))
			snprintf(race->error, sizeof(race->error),
				 "round %d thread %d: word %zu is %#x, expected %#x",
				 round, index, w, seen,
				 vsvm_pattern_word(round, w));

		value = racer_value(round, index, i);
		__atomic_store_n(&race->page[index], value, __ATOMIC_RELAXED);
		seen = __atomic_load_n(&race->page[index], __ATOMIC_RELAXED);
		if (seen != value &&
		    !__atomic_fetch_add(&race->errors, 1, __ATOMIC_RELAXED))
			snprintf(race->error, sizeof(race->error),
				 "round %d thread %d: wrote %#x, read back %#x",
				 round, index, value, seen);
	}
}

static void *racer_run(void *arg)
{
	struct racer *r = arg;
	struct race *race = r->race;
	int round = 0;

	for (;;) {
		pthread_mutex_lock(&race->lock);
		while (race->round == round && !race->stop)
			pthread_cond_wait(&race->start, &race->lock);
		if (race->stop) {
			pthread_mutex_unlock(&race->lock);
			return NULL;
		}
		round = race->round;
		pthread_mutex_unlock(&race->lock);

		racer_access(race, r->index, round);

		pthread_mutex_lock(&race->lock);
		race->finished++;
		pthread_cond_signal(&race->done);
		pthread_mutex_unlock(&race->lock);
	}
}

/* Starts a round and waits up to HANG_MS for the threads to finish it. */
static int race_round(struct race *race, int round,
		      const struct vsvm_gpu *g, int *prefetch)
{
	struct timespec deadline;
	int finished;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += HANG_MS / 1000;

	pthread_mutex_lock(&race->lock);
	race->round = round;
	race->finished = 0;
	pthread_cond_broadcast(&race->start);
	pthread_mutex_unlock(&race->lock);

	*prefetch = vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_SYSTEM,
				  race->page, PAGE, 0);

	pthread_mutex_lock(&race->lock);
	while (race->finished < RACE_THREADS &&
	       !pthread_cond_timedwait(&race->done, &race->lock, &deadline))
		;
	finished = race->finished;
	pthread_mutex_unlock(&race->lock);
	return finished;
}

TEST_F_TIMEOUT(vsvm, cpu_threads_fault_on_page_being_evicted, 240)
{
	const struct vsvm_gpu *g = &self->gpu;
	struct racer racers[RACE_THREADS];
	struct race race = { .round = 0 };
	pthread_condattr_t attr;
	int round, i, finished, prefetch;
	__u64 start, elapsed;

	race.page = map_buf(_metadata, PAGE);
	ASSERT_EQ(0, pthread_mutex_init(&race.lock, NULL));
	ASSERT_EQ(0, pthread_condattr_init(&attr));
	ASSERT_EQ(0, pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
	ASSERT_EQ(0, pthread_cond_init(&race.start, &attr));
	ASSERT_EQ(0, pthread_cond_init(&race.done, &attr));
	for (i = 0; i < RACE_THREADS; i++) {
		racers[i].race = &race;
		racers[i].index = i;
		ASSERT_EQ(0, pthread_create(&racers[i].tid, NULL, racer_run,
					    &racers[i]));
	}

	for (round = 1; round <= RACE_ROUNDS; round++) {
		vsvm_pattern_fill(race.page, PAGE, round);
		ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, DRM_VSVM_REGION_VRAM,
					   race.page, PAGE, 0));
		ASSERT_LE(1, stats_of(_metadata, g).vm_vram_pages_mapped)
			TH_LOG("round %d: the page should be in VRAM", round);

		start = vsvm_now_ms();
		finished = race_round(&race, round, g, &prefetch);
		elapsed = vsvm_now_ms() - start;
		ASSERT_EQ(RACE_THREADS, finished)
			TH_LOG("round %d: %d of %d threads done after %llu ms: CPU fault hangs",
			       round, finished, RACE_THREADS,
			       (unsigned long long)elapsed);
		ASSERT_GT(HANG_MS, elapsed)
			TH_LOG("round %d took %llu ms", round,
			       (unsigned long long)elapsed);
		ASSERT_EQ(0, prefetch)
			TH_LOG("round %d: eviction racing CPU faults: %s",
			       round, strerror(-prefetch));
		ASSERT_EQ(0, race.errors) TH_LOG("%s", race.error);

		for (i = 0; i < RACE_THREADS; i++)
			if (race.page[i] != racer_value(round, i,
							RACE_ACCESSES - 1))
				break;
		ASSERT_EQ(RACE_THREADS, i)
			TH_LOG("round %d: thread %d's last write is lost",
			       round, i);
		expect_pattern(_metadata, race.page, RACE_THREADS * 4,
			       PAGE - RACE_THREADS * 4, round,
			       "words no thread wrote");
		ASSERT_EQ(vsvm_checksum(race.page, PAGE),
			  gpu_checksum(_metadata, g, race.page, PAGE))
			TH_LOG("round %d: the GPU should read what the CPU sees",
			       round);
	}

	pthread_mutex_lock(&race.lock);
	race.stop = true;
	pthread_cond_broadcast(&race.start);
	pthread_mutex_unlock(&race.lock);
	for (i = 0, finished = 0; i < RACE_THREADS; i++)
		finished += !pthread_join(racers[i].tid, NULL);
	ASSERT_EQ(RACE_THREADS, finished);
}

/*
 * Child of the exit cases: a file and VM of its own, the long job running
 * over its pages in VRAM, and then waits for the parent's word to _exit().
 */
static void __noreturn
dying_child(struct long_job *lj, int *go)
{
	int fd;
	__u32 vm;

	close(go[1]);
	fd = vsvm_open(0);
	if (fd < 0)
		_exit(10);
	if (vsvm_vm_create(fd, &vm))
		_exit(11);
	if (long_job_start(lj, fd, vm))
		_exit(12);
	vsvm_wait_byte(go[0]);
	_exit(0);
}

/*
 * A process dies, by _exit() or SIGKILL, with pages in VRAM and a job
 * running in another of its threads: it must go away, its job must stop,
 * its VRAM must be freed, and the device must keep working.
 */
static void check_dying_child(struct __test_metadata *_metadata,
			      const struct vsvm_gpu *g, bool sigkill)
{
	struct long_job lj = {};
	__u64 vram_before;
	int go[2], status;
	pid_t pid;

	ASSERT_TRUE(long_job_map(&lj));
	vram_before = stats_of(_metadata, g).vram_pages_used;
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		dying_child(&lj, go);
	close(go[0]);

	expect_long_job_running(_metadata, &lj, pid);
	ASSERT_LE(vram_before + LONG_JOB_VRAM_PAGES,
		  stats_of(_metadata, g).vram_pages_used)
		TH_LOG("the child's buffer should be in VRAM");

	ASSERT_EQ(0, sigkill ? kill(pid, SIGKILL) : vsvm_send_byte(go[1]));
	ASSERT_EQ(0, vsvm_wait_child(pid, HANG_MS, &status))
		TH_LOG("the child is still there %d ms after %s: exit waits for the running job?",
		       HANG_MS, sigkill ? "SIGKILL" : "_exit()");
	if (sigkill) {
		ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("the child should have exited with 0");
	}
	close(go[1]);

	expect_vram_used_at_most(_metadata, g, vram_before,
				 "VRAM of a dead process");
	expect_long_job_stopped(_metadata, &lj, "the job of a dead process");
	expect_vm_works(_metadata, g);
	long_job_unmap(&lj);
}

TEST_F_TIMEOUT(vsvm, exit_with_pages_in_vram_and_job_running, 90)
{
	check_dying_child(_metadata, &self->gpu, false);
}

TEST_F_TIMEOUT(vsvm, sigkill_with_pages_in_vram_and_job_running, 90)
{
	check_dying_child(_metadata, &self->gpu, true);
}

static void on_sigusr1(int sig)
{
}

TEST_F_TIMEOUT(vsvm, vm_destroy_cancels_running_job, 60)
{
	const struct vsvm_gpu *g = &self->gpu;
	struct vsvm_gpu dead = *g;
	struct long_job lj = {};
	__u64 vram_before, start, elapsed;
	__u32 vm;

	ASSERT_TRUE(long_job_map(&lj));
	vram_before = stats_of(_metadata, g).vram_pages_used;
	ASSERT_EQ(0, vsvm_vm_create(g->fd, &vm));
	ASSERT_EQ(0, long_job_start(&lj, g->fd, vm));
	expect_long_job_running(_metadata, &lj, 0);

	start = vsvm_now_ms();
	ASSERT_EQ(0, vsvm_vm_destroy(g->fd, vm));
	elapsed = vsvm_now_ms() - start;
	ASSERT_GT(HANG_MS, elapsed)
		TH_LOG("destroying a VM with a job running took %llu ms",
		       (unsigned long long)elapsed);
	ASSERT_TRUE(job_thread_wait(&lj.job, HANG_MS))
		TH_LOG("the job's ioctl should return once its VM is gone");
	ASSERT_EQ(0, pthread_join(lj.job.tid, NULL));
	ASSERT_EQ(0, lj.job.ret);
	ASSERT_EQ(-ECANCELED, lj.job.exec.status)
		TH_LOG("a job of a destroyed VM ends with -ECANCELED: %s",
		       job_end(&lj.job.exec));
	expect_long_job_stopped(_metadata, &lj, "the job of a destroyed VM");

	dead.vm = vm;
	expect_exec_rejected(_metadata, g,
			     job_args(&dead, DRM_VSVM_OP_FILL, lj.vram, NULL,
				      PAGE, 0, 0),
			     ENOENT, "a job on a destroyed VM");

	long_job_unmap(&lj);
	expect_vram_used_at_most(_metadata, g, vram_before,
				 "VRAM of an unmapped buffer");
	expect_vm_works(_metadata, g);
}

TEST_F_TIMEOUT(vsvm, close_fd_while_job_running, 60)
{
	/* No SA_RESTART: the signal ends the ioctl's wait with EINTR. */
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	const struct vsvm_gpu *g = &self->gpu;
	__u64 deadline, vram_before;
	struct long_job lj = {};
	__u32 vm;
	int fd;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_TRUE(long_job_map(&lj));
	vram_before = stats_of(_metadata, g).vram_pages_used;
	fd = vsvm_open(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vsvm_vm_create(fd, &vm));
	ASSERT_EQ(0, long_job_start(&lj, fd, vm));
	expect_long_job_running(_metadata, &lj, 0);

	/*
	 * The ioctl in progress holds the file: the job goes on until its
	 * wait ends, and the file's release then takes the VM and the job.
	 */
	ASSERT_EQ(0, close(fd));
	deadline = vsvm_now_ms() + HANG_MS;
	while (!job_thread_wait(&lj.job, 50) && vsvm_now_ms() < deadline)
		pthread_kill(lj.job.tid, SIGUSR1);
	ASSERT_TRUE(job_thread_wait(&lj.job, 0))
		TH_LOG("SIGUSR1 did not end the wait of a job on a closed file");
	ASSERT_EQ(0, pthread_join(lj.job.tid, NULL));
	ASSERT_TRUE(lj.job.ret == -EINTR ||
		    (!lj.job.ret && lj.job.exec.status == -ECANCELED))
		TH_LOG("expected EINTR, or the job ending -ECANCELED: ioctl %d, %s",
		       lj.job.ret, job_end(&lj.job.exec));
	expect_long_job_stopped(_metadata, &lj, "the job of a closed file");

	long_job_unmap(&lj);
	expect_vram_used_at_most(_metadata, g, vram_before,
				 "VRAM of an unmapped buffer");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_bad_op)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 50);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, PAGE, 0, 0);
	e.op = 0;
	expect_exec_rejected(_metadata, g, e, EINVAL, "op 0");
	e.op = DRM_VSVM_OP_ATOMIC_INC + 1;
	expect_exec_rejected(_metadata, g, e, EINVAL, "op past the last");
	e.op = ~0u;
	expect_exec_rejected(_metadata, g, e, EINVAL, "op ~0");

	expect_pattern(_metadata, buf, 0, PAGE, 50, "buffer of rejected jobs");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_unaligned_span)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 51);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, PAGE - 2, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "size not a multiple of 4");
	e = job_args(g, DRM_VSVM_OP_FILL, buf + 2, NULL, 8, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "dst not 4-byte aligned");
	e = job_args(g, DRM_VSVM_OP_CHECKSUM, NULL, buf + 1, 8, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "src not 4-byte aligned");
	e = job_args(g, DRM_VSVM_OP_COPY, buf, buf + PAGE / 2 + 1, 8, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "copy src not aligned");

	expect_pattern(_metadata, buf, 0, PAGE, 51, "buffer of rejected jobs");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_zero_size)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 52);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, 0, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "fill of 0 bytes");
	e = job_args(g, DRM_VSVM_OP_CHECKSUM, NULL, buf, 0, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "checksum of 0 bytes");
	e = job_args(g, DRM_VSVM_OP_COPY, buf, buf + PAGE / 2, 0, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "copy of 0 bytes");

	expect_pattern(_metadata, buf, 0, PAGE, 52, "buffer of rejected jobs");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_wrapping_or_oversized_span)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 53);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, 2 * PAGE, 0, 0);
	e.dst = ~0ull - PAGE + 1;
	expect_exec_rejected(_metadata, g, e, EINVAL, "fill wrapping past 2^64");
	e = job_args(g, DRM_VSVM_OP_CHECKSUM, NULL, buf, 2 * PAGE, 0, 0);
	e.src = ~0ull - 3;
	expect_exec_rejected(_metadata, g, e, EINVAL,
			     "checksum wrapping past 2^64");
	e = job_args(g, DRM_VSVM_OP_COPY, buf, buf, 2 * PAGE, 0, 0);
	e.src = ~0ull - PAGE + 1;
	expect_exec_rejected(_metadata, g, e, EINVAL, "copy source wrapping");
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, (1ull << 30) + 4, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "span over 1 GiB");

	expect_pattern(_metadata, buf, 0, PAGE, 53, "buffer of rejected jobs");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_overlapping_copy)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 54);
	e = job_args(g, DRM_VSVM_OP_COPY, buf, buf, PAGE, 0, 0);
	expect_exec_rejected(_metadata, g, e, EINVAL, "copy onto itself");
	e = job_args(g, DRM_VSVM_OP_COPY, buf + PAGE / 2 - 4, buf, PAGE / 2, 0,
		     0);
	expect_exec_rejected(_metadata, g, e, EINVAL,
			     "copy whose spans share one word");

	expect_pattern(_metadata, buf, 0, PAGE, 54, "buffer of rejected copies");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, exec_rejects_unknown_flags)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 55);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, PAGE, 0, 0);
	e.flags = DRM_VSVM_EXEC_VRAM << 1;
	expect_exec_rejected(_metadata, g, e, EINVAL, "flag bit 1");
	e.flags = 1u << 31;
	expect_exec_rejected(_metadata, g, e, EINVAL, "flag bit 31");

	expect_pattern(_metadata, buf, 0, PAGE, 55, "buffer of rejected jobs");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, ioctls_reject_unknown_vm)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, PAGE);
	__u32 unknown = g->vm + 1000;
	struct drm_vsvm_stats st;
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 56);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, PAGE, 0, 0);
	e.vm_id = unknown;
	expect_exec_rejected(_metadata, g, e, ENOENT, "exec on an unknown VM");
	e.vm_id = ~0u;
	expect_exec_rejected(_metadata, g, e, ENOENT, "exec on VM ~0");
	ASSERT_EQ(-ENOENT, vsvm_prefetch(g->fd, unknown, DRM_VSVM_REGION_VRAM,
					 buf, PAGE, 0));
	ASSERT_EQ(-ENOENT, vsvm_stats(g->fd, unknown, &st));
	ASSERT_EQ(-ENOENT, vsvm_vm_destroy(g->fd, unknown));

	expect_pattern(_metadata, buf, 0, PAGE, 56, "buffer of rejected calls");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, ioctls_reject_nonzero_pad)
{
	const struct vsvm_gpu *g = &self->gpu;
	void *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_vm_create create = { .flags = 1 };
	struct drm_vsvm_vm_destroy destroy = { .vm_id = g->vm, .pad = 1 };
	struct drm_vsvm_prefetch prefetch = {
		.vm_id = g->vm,
		.region = DRM_VSVM_REGION_VRAM,
		.start = vsvm_va(buf),
		.size = PAGE,
		.pad = 1,
	};
	struct drm_vsvm_stats st = { .vm_id = g->vm, .pad = 1 };
	struct drm_vsvm_exec e;

	vsvm_pattern_fill(buf, PAGE, 57);
	e = job_args(g, DRM_VSVM_OP_FILL, buf, NULL, PAGE, 0, 0);
	e.pad = 1;
	expect_exec_rejected(_metadata, g, e, EINVAL, "exec with pad 1");
	ASSERT_EQ(-EINVAL, vsvm_ioctl(g->fd, DRM_IOCTL_VSVM_VM_CREATE, &create))
		TH_LOG("VM create with flags 1");
	ASSERT_EQ(-EINVAL, vsvm_ioctl(g->fd, DRM_IOCTL_VSVM_VM_DESTROY,
				      &destroy))
		TH_LOG("VM destroy with pad 1");
	ASSERT_EQ(-EINVAL, vsvm_ioctl(g->fd, DRM_IOCTL_VSVM_PREFETCH, &prefetch))
		TH_LOG("prefetch with pad 1");
	ASSERT_EQ(-EINVAL, vsvm_ioctl(g->fd, DRM_IOCTL_VSVM_STATS, &st))
		TH_LOG("stats with pad 1");
	ASSERT_EQ(0, stats_of(_metadata, g).vm_vram_pages_mapped)
		TH_LOG("the rejected prefetch moved pages to VRAM");

	/* The rejected destroy left the VM alone. */
	expect_pattern(_metadata, buf, 0, PAGE, 57, "buffer of rejected calls");
	expect_vm_works(_metadata, g);
}

TEST_F(vsvm, prefetch_rejects_bad_spans)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, 2 * PAGE);
	__u32 region = DRM_VSVM_REGION_VRAM;

	vsvm_pattern_fill(buf, 2 * PAGE, 58);
	ASSERT_EQ(-EINVAL, vsvm_prefetch(g->fd, g->vm, region, buf + 4, PAGE, 0))
		TH_LOG("unaligned start");
	ASSERT_EQ(-EINVAL, vsvm_prefetch(g->fd, g->vm, region, buf, PAGE / 2, 0))
		TH_LOG("unaligned size");
	ASSERT_EQ(-EINVAL, vsvm_prefetch(g->fd, g->vm, region, buf, 0, 0))
		TH_LOG("zero size");
	ASSERT_EQ(-EINVAL, vsvm_prefetch(g->fd, g->vm, region,
					 (void *)(uintptr_t)(~0ull - PAGE + 1),
					 2 * PAGE, 0))
		TH_LOG("span wrapping past 2^64");
	ASSERT_EQ(-EINVAL, vsvm_prefetch(g->fd, g->vm, 2, buf, PAGE, 0))
		TH_LOG("unknown region 2");
	ASSERT_EQ(0, stats_of(_metadata, g).vm_vram_pages_mapped)
		TH_LOG("a rejected prefetch moved pages to VRAM");

	ASSERT_EQ(0, vsvm_prefetch(g->fd, g->vm, region, buf, 2 * PAGE, 0));
	ASSERT_LE(2, stats_of(_metadata, g).vm_vram_pages_mapped);
	expect_pattern(_metadata, buf, 0, 2 * PAGE, 58,
		       "buffer after the rejected and the valid prefetch");
}

TEST_F(vsvm, destroyed_vm_is_unknown)
{
	struct vsvm_gpu other = self->gpu;
	void *buf = map_buf(_metadata, PAGE);
	struct drm_vsvm_stats st;
	struct drm_vsvm_exec e;

	ASSERT_EQ(0, vsvm_vm_create(other.fd, &other.vm));
	ASSERT_NE(self->gpu.vm, other.vm);
	gpu_fill(_metadata, &other, buf, PAGE, 0x5e5e5e5e);
	ASSERT_EQ(0, vsvm_vm_destroy(other.fd, other.vm));

	e = job_args(&other, DRM_VSVM_OP_FILL, buf, NULL, PAGE, 0, 0);
	expect_exec_rejected(_metadata, &other, e, ENOENT,
			     "exec on a destroyed VM");
	ASSERT_EQ(-ENOENT, vsvm_stats(other.fd, other.vm, &st));
	ASSERT_EQ(-ENOENT, vsvm_vm_destroy(other.fd, other.vm))
		TH_LOG("a VM is destroyed once");
	expect_words(_metadata, buf, PAGE, 0x5e5e5e5e,
		     "data written through a destroyed VM");
	expect_vm_works(_metadata, &self->gpu);
}

TEST_F(vsvm, job_on_unmapped_address_faults)
{
	const struct vsvm_gpu *g = &self->gpu;
	char *buf = map_buf(_metadata, 3 * PAGE);
	char *hole = buf + PAGE;
	struct drm_vsvm_exec e;

	/* One mapped page, then two without a VMA: no mmap() from here on. */
	ASSERT_EQ(0, munmap(hole, 2 * PAGE));
	vsvm_pattern_fill(buf, PAGE, 59);

	expect_job_fault(_metadata, g, DRM_VSVM_OP_FILL, hole, PAGE, -EFAULT,
			 hole, "fill of an unmapped page");
	expect_job_fault(_metadata, g, DRM_VSVM_OP_CHECKSUM, hole + PAGE, PAGE,
			 -EFAULT, hole + PAGE, "checksum of an unmapped page");
	expect_job_fault(_metadata, g, DRM_VSVM_OP_ATOMIC_INC, hole, 2 * PAGE,
			 -EFAULT, hole, "atomic_inc of unmapped pages");
	expect_job_fault(_metadata, g, DRM_VSVM_OP_CHECKSUM, buf, 3 * PAGE,
			 -EFAULT, hole, "checksum from a mapped page on");

	e = job(_metadata, g, DRM_VSVM_OP_COPY, buf, hole, PAGE, 0, 0);
	ASSERT_EQ(-EFAULT, e.status)
		TH_LOG("copy from an unmapped page: %s", job_end(&e));
	ASSERT_EQ(vsvm_va(hole), e.fault_addr);
	e = job(_metadata, g, DRM_VSVM_OP_COPY, hole, buf, PAGE, 0, 0);
	ASSERT_EQ(-EFAULT, e.status)
		TH_LOG("copy to an unmapped page: %s", job_end(&e));
	ASSERT_EQ(vsvm_va(hole), e.fault_addr);

	expect_pattern(_metadata, buf, 0, PAGE, 59,
		       "the mapped side of the failed jobs");
	ASSERT_EQ(vsvm_pattern_checksum(59, 0, PAGE),
		  gpu_checksum(_metadata, g, buf, PAGE));
	expect_vm_works(_metadata, g);
}

TEST_HARNESS_MAIN
