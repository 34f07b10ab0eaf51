// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsvm stress: minutes of mixed GPU and CPU work on shared buffers, with a
 * checker that knows what every byte must hold.
 *
 * Worker processes, each with worker threads, share their private buffer
 * (larger than the VRAM, so that migrations evict) between their threads and
 * one MAP_SHARED buffer between the processes. The buffers are cut in chunks
 * of CHUNK bytes; each chunk belongs to one thread, the only one that writes
 * it, and that thread records what each of its pages must hold: pattern
 * words plus an increment, or a value. Everything else runs over every
 * chunk, whoever owns it: prefetches to VRAM and back, evictions when a
 * migration needs room, invalidations of the ranges a chunk shares with
 * other chunks. Each thread in turn
 *
 *  - writes its pages with the CPU, and with GPU fill, copy and atomic
 *    increment jobs, into VRAM or in system memory;
 *  - checks them with the CPU and with GPU checksum jobs;
 *  - prefetches any span of the buffer to VRAM or to system memory;
 *  - makes a chunk read-only (a GPU write must then fail at its first page)
 *    and writable again, moves it away with mremap() and back, replaces
 *    pages with new anonymous memory (munmap and mmap in one call), maps,
 *    uses and unmaps buffers of its own;
 *  - forks: the child checks the snapshot of the thread's chunks while the
 *    parent writes them with the GPU, uses it with a VM of its own and
 *    exits.
 *
 * With two devices, each process has a VM on each and every job picks one:
 * pages move between the two VRAMs. At the end each thread checks all its
 * pages; the test prints the operations done by kind, the bytes verified
 * and lost, and fails on any lost byte, any unexpected error, a thread that
 * stops making progress, or an IOMMU fault or a stale IOVA on a device.
 *
 * The duration, in seconds, is vsvm.stress_seconds= on the kernel command
 * line or VSVM_STRESS_SECONDS in the environment (default 60), split evenly
 * between the variants.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vsvm_util.h"

#define PAGE		VSVM_PAGE_SIZE
#define CHUNK_PAGES	16
#define CHUNK		(CHUNK_PAGES * PAGE)
#define SZ_2M		(512 * PAGE)

#define NR_PROCS	2
#define NR_THREADS	3
/* Per process: two of them overcommit a 16 MiB VRAM. */
#define PRIV_SIZE	(160 * CHUNK)
#define SHARED_SIZE	(16 * CHUNK)
#define PRIV_CHUNKS	(PRIV_SIZE / CHUNK)
#define SHARED_CHUNKS	(SHARED_SIZE / CHUNK)

/* A thread that does nothing for this long is hung. */
#define HANG_S		300
#define HANG_MS		(HANG_S * 1000)

#define DEFAULT_SECONDS	60

enum stress_op {
	OP_CPU_WRITE, OP_GPU_FILL, OP_GPU_COPY, OP_GPU_ATOMIC, OP_CPU_CHECK,
	OP_GPU_CHECK, OP_PREFETCH_VRAM, OP_PREFETCH_SYSTEM, OP_MPROTECT,
	OP_MREMAP, OP_REMAP, OP_MMAP_MUNMAP, OP_FORK, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"cpu_write", "gpu_fill", "gpu_copy", "gpu_atomic_inc", "cpu_check",
	"gpu_checksum", "prefetch_vram", "prefetch_system", "mprotect",
	"mremap", "munmap_mmap", "mmap_use_munmap", "fork",
};

/* Counters of all processes, in a MAP_SHARED page. */
struct stress_stats {
	__u64 ops[NR_OPS];
	/* Operations or jobs that ended with an error. */
	__u64 errors[NR_OPS];
	int last_error[NR_OPS];
	/* Errors that mean something went wrong (not a race lost). */
	__u64 bad;
	__u64 gpu_jobs;
	__u64 vram_jobs;
	__u64 bytes_verified;
	__u64 bytes_lost;
	__u64 heartbeat[NR_PROCS][NR_THREADS];
	int cur_op[NR_PROCS][NR_THREADS];
	char first_problem[256];
};

/* What a page must hold: word i is pattern(seed, i) + add, or add. */
struct page_state {
	__u32 seed;
	__u32 add;
	bool pattern;
};

struct chunk {
	char *addr;
	struct page_state *state;
	bool shared;
	bool ro;
};

struct proc {
	int index;
	int ndev;
	int fd[2];
	__u32 vm[2];
	char *priv;
	char *shared;
	struct page_state priv_state[PRIV_SIZE / PAGE];
	struct stress_stats *stats;
	__u64 deadline;
	struct page_state *shared_state;
};

struct thread {
	struct proc *p;
	int index;
	__u64 rng;
	struct chunk chunks[PRIV_CHUNKS / NR_THREADS + 1 +
			    SHARED_CHUNKS / (NR_PROCS * NR_THREADS) + 1];
	int nchunks;
	int npriv;
	char *src;		/* CHUNK of pattern, never written again */
	__u32 src_seed;
	char *scratch;		/* where mremap() moves a chunk */
	char expect[CHUNK];
};

static __u64 rnd(struct thread *t)
{
	t->rng ^= t->rng << 13;
	t->rng ^= t->rng >> 7;
	t->rng ^= t->rng << 17;
	return t->rng;
}

static __u64 rnd_below(struct thread *t, __u64 n)
{
	return rnd(t) % n;
}

static void add64(__u64 *v, __u64 n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static __printf(2, 3) void problem(struct proc *p, const char *fmt, ...)
{
	struct stress_stats *s = p->stats;
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* The first one is kept for the summary, every one is logged. */
	if (!__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED))
		memcpy(s->first_problem, line, sizeof(line));
	dprintf(STDERR_FILENO, "# stress: proc %d: %s\n", p->index, line);
}

static void count_error(struct proc *p, enum stress_op op, int err)
{
	add64(&p->stats->errors[op], 1);
	p->stats->last_error[op] = err;
}

static void page_expect(const struct page_state *st, __u32 *word)
{
	size_t i;

	for (i = 0; i < PAGE / 4; i++)
		word[i] = (st->pattern ? vsvm_pattern_word(st->seed, i) : 0) +
			  st->add;
}

static __u32 seed_of(struct thread *t)
{
	return (__u32)rnd(t) | 1;
}

/* Pages [first, first + n) of @c, at @addr, hold what they must (CPU). */
static void cpu_check(struct thread *t, struct chunk *c, char *addr,
		      int first, int n, const char *what)
{
	struct proc *p = t->p;
	long lost = 0, bad = -1;
	int i, j;

	for (i = first; i < first + n; i++) {
		const __u32 *word = (const __u32 *)(addr + i * PAGE);

		page_expect(&c->state[i], (__u32 *)t->expect);
		for (j = 0; j < (int)(PAGE / 4); j++) {
			if (word[j] == ((__u32 *)t->expect)[j])
				continue;
			if (bad < 0)
				bad = i * PAGE + j * 4;
			lost += 4;
		}
	}
	add64(&p->stats->bytes_verified, n * PAGE);
	if (lost) {
		add64(&p->stats->bytes_lost, lost);
		problem(p, "%s: %ld bytes lost in %p+%#lx, first at +%#lx",
			what, lost, addr, (unsigned long)first * PAGE, bad);
	}
}

static int pick_dev(struct thread *t)
{
	return t->p->ndev > 1 ? rnd_below(t, t->p->ndev) : 0;
}

/* Runs a job; returns the ioctl's error or the job's status. */
static int run_job(struct thread *t, int dev, struct drm_vsvm_exec *e)
{
	struct proc *p = t->p;
	int ret;

	e->vm_id = p->vm[dev];
	ret = vsvm_exec(p->fd[dev], e);
	add64(&p->stats->gpu_jobs, 1);
	if (e->flags & DRM_VSVM_EXEC_VRAM)
		add64(&p->stats->vram_jobs, 1);
	if (ret) {
		problem(p, "exec op %u: ioctl failed: %s", e->op, strerror(-ret));
		return ret;
	}
	return e->status;
}

static __u32 job_flags(struct thread *t)
{
	return rnd_below(t, 2) ? DRM_VSVM_EXEC_VRAM : 0;
}

/*
 * A write job over pages [first, first + n) of @c ended with @err: pages
 * before the page of the fault address were written, the others not.
 * Returns how many were written.
 */
static int job_written(struct thread *t, struct chunk *c, int first, int n,
		       const struct drm_vsvm_exec *e, enum stress_op op, int err)
{
	unsigned long start = vsvm_va(c->addr + first * PAGE);

	if (!err)
		return n;
	count_error(t->p, op, err);
	if (err == -EIO || e->fault_addr < start ||
	    e->fault_addr >= start + n * PAGE) {
		problem(t->p, "%s of %#lx+%#lx: status %d at %#llx", op_names[op],
			start, n * PAGE, err, (unsigned long long)e->fault_addr);
		return 0;
	}
	return (e->fault_addr - start) / PAGE;
}

/* GPU checksum of pages [first, first + n) of @c at @addr; CPU on mismatch. */
static void gpu_check(struct thread *t, struct chunk *c, char *addr, int first,
		      int n, const char *what)
{
	struct drm_vsvm_exec e = {
		.op = DRM_VSVM_OP_CHECKSUM,
		.src = vsvm_va(addr + first * PAGE),
		.size = n * PAGE,
		.flags = job_flags(t),
	};
	int i, err;

	for (i = 0; i < n; i++)
		page_expect(&c->state[first + i], (__u32 *)(t->expect + i * PAGE));
	err = run_job(t, pick_dev(t), &e);
	if (err) {
		count_error(t->p, OP_GPU_CHECK, err);
		if (err == -EIO)
			problem(t->p, "%s: checksum job: %d", what, err);
		return;
	}
	add64(&t->p->stats->bytes_verified, n * PAGE);
	if (e.result == vsvm_checksum(t->expect, n * PAGE))
		return;
	/* Which bytes? The CPU tells; if it reads them right, the GPU lost them. */
	problem(t->p, "%s: GPU checksum of %p+%#lx differs", what, addr,
		(unsigned long)first * PAGE);
	if (!memcmp(addr + first * PAGE, t->expect, n * PAGE))
		add64(&t->p->stats->bytes_lost, n * PAGE);
	else
		cpu_check(t, c, addr, first, n, what);
}

static void op_cpu_write(struct thread *t, struct chunk *c, int first, int n)
{
	int i;

	for (i = first; i < first + n; i++) {
		c->state[i] = (struct page_state){ .seed = seed_of(t), .pattern = true };
		page_expect(&c->state[i], (__u32 *)(c->addr + i * PAGE));
	}
}

static void op_gpu_write(struct thread *t, struct chunk *c, int first, int n,
			 enum stress_op op)
{
	struct drm_vsvm_exec e = {
		.dst = vsvm_va(c->addr + first * PAGE),
		.size = n * PAGE,
		.flags = job_flags(t),
	};
	__u32 value = rnd(t);
	int i, done;

	switch (op) {
	case OP_GPU_FILL:
		e.op = DRM_VSVM_OP_FILL;
		e.value = value;
		break;
	case OP_GPU_COPY:
		e.op = DRM_VSVM_OP_COPY;
		e.src = vsvm_va(t->src);
		break;
	default:
		e.op = DRM_VSVM_OP_ATOMIC_INC;
		e.value = value;
		break;
	}
	done = job_written(t, c, first, n, &e, op, run_job(t, pick_dev(t), &e));
	for (i = 0; i < done; i++) {
		struct page_state *st = &c->state[first + i];

		if (op == OP_GPU_FILL)
			*st = (struct page_state){ .add = value };
		else if (op == OP_GPU_COPY)
			*st = (struct page_state){ .seed = t->src_seed + i, .pattern = true };
		else
			st->add += value;
	}
}

/* Any span of the private buffer, whoever owns it. */
static void op_prefetch(struct thread *t, bool vram)
{
	struct proc *p = t->p;
	unsigned long off, size;
	int err, dev = pick_dev(t);

	if (rnd_below(t, 4)) {
		off = rnd_below(t, PRIV_SIZE / PAGE) * PAGE;
		size = (1 + rnd_below(t, 64)) * PAGE;
	} else {
		off = rnd_below(t, PRIV_SIZE / SZ_2M) * SZ_2M;
		size = SZ_2M;
	}
	size = off + size > PRIV_SIZE ? PRIV_SIZE - off : size;
	err = vsvm_prefetch(p->fd[dev], p->vm[dev], vram ?
			    DRM_VSVM_REGION_VRAM : DRM_VSVM_REGION_SYSTEM,
			    p->priv + off, size, 0);
	if (err) {
		count_error(p, vram ? OP_PREFETCH_VRAM : OP_PREFETCH_SYSTEM, err);
		if (err == -EIO || err == -EFAULT || err == -EINVAL)
			problem(p, "prefetch %s of +%#lx+%#lx: %s",
				vram ? "vram" : "system", off, size, strerror(-err));
	}
}

static void op_mprotect(struct thread *t, struct chunk *c)
{
	struct drm_vsvm_exec e = {
		.op = DRM_VSVM_OP_FILL,
		.dst = vsvm_va(c->addr),
		.size = CHUNK,
		.value = 1,
		.flags = job_flags(t),
	};
	int err;

	if (mprotect(c->addr, CHUNK, PROT_READ)) {
		problem(t->p, "mprotect read-only: %m");
		return;
	}
	c->ro = true;
	err = run_job(t, pick_dev(t), &e);
	if (err != -EPERM || e.fault_addr != vsvm_va(c->addr))
		problem(t->p, "GPU write to a read-only chunk: status %d at %#llx",
			err, (unsigned long long)e.fault_addr);
	gpu_check(t, c, c->addr, 0, CHUNK_PAGES, "read-only chunk");
	cpu_check(t, c, c->addr, 0, CHUNK_PAGES, "read-only chunk");
	if (mprotect(c->addr, CHUNK, PROT_READ | PROT_WRITE))
		problem(t->p, "mprotect read-write: %m");
	c->ro = false;
}

/* Away to the scratch mapping and back; each leaves an empty mapping. */
static void op_mremap(struct thread *t, struct chunk *c)
{
	void *m;

	m = mremap(c->addr, CHUNK, CHUNK,
		   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, t->scratch);
	if (m != t->scratch) {
		problem(t->p, "mremap away: %m");
		return;
	}
	gpu_check(t, c, t->scratch, 0, CHUNK_PAGES, "chunk moved away");
	m = mremap(t->scratch, CHUNK, CHUNK,
		   MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, c->addr);
	if (m != c->addr)
		problem(t->p, "mremap back: %m");
}

/* New anonymous memory over pages of a chunk: munmap and mmap at once. */
static void op_remap(struct thread *t, struct chunk *c, int first, int n)
{
	void *m = mmap(c->addr + first * PAGE, n * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int i;

	if (m == MAP_FAILED) {
		problem(t->p, "mmap over a chunk: %m");
		return;
	}
	for (i = first; i < first + n; i++)
		c->state[i] = (struct page_state){};
}

/* A buffer of the thread's own, used by the GPU and the CPU, unmapped. */
static void op_mmap_munmap(struct thread *t)
{
	struct page_state st[CHUNK_PAGES] = {};
	int n = 1 + rnd_below(t, CHUNK_PAGES);
	struct chunk c = { .state = st };

	c.addr = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.addr == MAP_FAILED) {
		problem(t->p, "mmap: %m");
		return;
	}
	op_gpu_write(t, &c, 0, n, OP_GPU_FILL);
	op_gpu_write(t, &c, 0, n, OP_GPU_ATOMIC);
	gpu_check(t, &c, c.addr, 0, n, "own buffer");
	cpu_check(t, &c, c.addr, 0, n, "own buffer");
	munmap(c.addr, n * PAGE);
}

/* Chunks a fork looks at: the child reads them while the parent writes. */
#define FORK_CHUNKS	4

/*
 * The child checks its snapshot of some of the thread's private chunks
 * while the parent writes them with the GPU, then uses one of them with a
 * VM of its own.
 */
static int fork_child(struct thread *t, struct chunk **sel, int go)
{
	struct proc *p = t->p;
	__u64 lost = p->stats->bytes_lost;
	int i, fd, err;
	__u32 vm;

	if (vsvm_wait_byte(go) != 1)
		return 2;
	for (i = 0; i < FORK_CHUNKS; i++)
		cpu_check(t, sel[i], sel[i]->addr, 0, CHUNK_PAGES, "fork child");
	fd = vsvm_open(0);
	if (fd < 0 || vsvm_vm_create(fd, &vm))
		return 3;
	p->fd[0] = fd;
	p->vm[0] = vm;
	p->ndev = 1;
	gpu_check(t, sel[0], sel[0]->addr, 0, CHUNK_PAGES, "fork child");
	op_gpu_write(t, sel[0], 0, CHUNK_PAGES, OP_GPU_FILL);
	cpu_check(t, sel[0], sel[0]->addr, 0, CHUNK_PAGES, "fork child");
	err = vsvm_vm_destroy(fd, vm);
	close(fd);
	return err ? 4 : p->stats->bytes_lost != lost;
}

static void op_fork(struct thread *t)
{
	struct chunk *sel[FORK_CHUNKS];
	int pipefd[2], status = 0, i;
	pid_t pid;

	for (i = 0; i < FORK_CHUNKS; i++)
		sel[i] = &t->chunks[rnd_below(t, t->npriv)];
	if (pipe(pipefd)) {
		problem(t->p, "pipe: %m");
		return;
	}
	pid = fork();
	if (pid < 0) {
		problem(t->p, "fork: %m");
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	if (!pid) {
		close(pipefd[1]);
		_exit(fork_child(t, sel, pipefd[0]));
	}
	close(pipefd[0]);
	/* The parent writes while the child reads its snapshot. */
	vsvm_send_byte(pipefd[1]);
	for (i = 0; i < FORK_CHUNKS; i++)
		op_gpu_write(t, sel[i], 0, CHUNK_PAGES,
			     rnd_below(t, 2) ? OP_GPU_FILL : OP_GPU_ATOMIC);
	close(pipefd[1]);
	if (vsvm_wait_child(pid, HANG_MS, &status))
		problem(t->p, "fork child hung");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		problem(t->p, "fork child ended with status %#x", status);
}

static void thread_op(struct thread *t, enum stress_op op)
{
	struct chunk *c = &t->chunks[rnd_below(t, t->nchunks)];
	int first = rnd_below(t, CHUNK_PAGES);
	int n = 1 + rnd_below(t, CHUNK_PAGES - first);

	/* mremap() and mmap() only on the private buffer. */
	if (op == OP_MREMAP || op == OP_REMAP)
		c = &t->chunks[rnd_below(t, t->npriv)];
	switch (op) {
	case OP_CPU_WRITE:
		op_cpu_write(t, c, first, n);
		break;
	case OP_GPU_FILL:
	case OP_GPU_COPY:
	case OP_GPU_ATOMIC:
		op_gpu_write(t, c, first, n, op);
		break;
	case OP_CPU_CHECK:
		cpu_check(t, c, c->addr, first, n, "check");
		break;
	case OP_GPU_CHECK:
		gpu_check(t, c, c->addr, first, n, "check");
		break;
	case OP_PREFETCH_VRAM:
	case OP_PREFETCH_SYSTEM:
		op_prefetch(t, op == OP_PREFETCH_VRAM);
		break;
	case OP_MPROTECT:
		op_mprotect(t, c);
		break;
	case OP_MREMAP:
		op_mremap(t, c);
		break;
	case OP_REMAP:
		op_remap(t, c, first, n);
		break;
	case OP_MMAP_MUNMAP:
		op_mmap_munmap(t);
		break;
	default:
		op_fork(t);
		break;
	}
}

/* How often each operation comes, out of the sum. */
static const int op_weight[NR_OPS] = {
	[OP_CPU_WRITE] = 10, [OP_GPU_FILL] = 8, [OP_GPU_COPY] = 6,
	[OP_GPU_ATOMIC] = 6, [OP_CPU_CHECK] = 8, [OP_GPU_CHECK] = 10,
	[OP_PREFETCH_VRAM] = 6, [OP_PREFETCH_SYSTEM] = 4, [OP_MPROTECT] = 2,
	[OP_MREMAP] = 2, [OP_REMAP] = 2, [OP_MMAP_MUNMAP] = 2, [OP_FORK] = 1,
};

static enum stress_op pick_op(struct thread *t)
{
	int total = 0, i, r;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	r = rnd_below(t, total);
	for (i = 0; r >= op_weight[i]; i++)
		r -= op_weight[i];
	return i;
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct proc *p = t->p;
	struct stress_stats *s = p->stats;
	enum stress_op op;
	int i;

	while (vsvm_now_ms() < p->deadline && !s->bad) {
		op = pick_op(t);
		s->cur_op[p->index][t->index] = op;
		thread_op(t, op);
		add64(&s->ops[op], 1);
		add64(&s->heartbeat[p->index][t->index], 1);
	}
	/* Every page the thread owns, by the CPU and by the GPU. */
	s->cur_op[p->index][t->index] = NR_OPS;
	for (i = 0; i < t->nchunks; i++) {
		gpu_check(t, &t->chunks[i], t->chunks[i].addr, 0, CHUNK_PAGES, "final");
		cpu_check(t, &t->chunks[i], t->chunks[i].addr, 0, CHUNK_PAGES, "final");
	}
	return NULL;
}

static int proc_main(struct proc *p)
{
	static struct thread threads[NR_THREADS];
	pthread_t tids[NR_THREADS];
	int i, c, owner, err;

	for (i = 0; i < p->ndev; i++) {
		p->fd[i] = vsvm_open(i);
		if (p->fd[i] < 0 || vsvm_vm_create(p->fd[i], &p->vm[i]))
			return 10;
	}
	for (i = 0; i < NR_THREADS; i++) {
		struct thread *t = &threads[i];

		t->p = p;
		t->index = i;
		t->rng = 0x9e3779b97f4a7c15ull * (p->index * NR_THREADS + i + 1);
		t->src = mmap(NULL, 2 * CHUNK, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t->src == MAP_FAILED)
			return 11;
		t->scratch = t->src + CHUNK;
		t->src_seed = seed_of(t);
		for (c = 0; c < CHUNK_PAGES; c++)
			vsvm_pattern_fill(t->src + c * PAGE, PAGE, t->src_seed + c);
	}
	/* Chunk c of the private buffer is thread c % NR_THREADS's... */
	for (c = 0; c < (int)PRIV_CHUNKS; c++) {
		struct thread *t = &threads[c % NR_THREADS];

		t->chunks[t->nchunks++] = (struct chunk){
			.addr = p->priv + c * CHUNK,
			.state = p->priv_state + c * CHUNK_PAGES,
		};
		t->npriv = t->nchunks;
	}
	/* ... and of the shared one, of each process's threads in turn. */
	for (c = 0; c < (int)SHARED_CHUNKS; c++) {
		owner = c % (NR_PROCS * NR_THREADS);
		if (owner / NR_THREADS != p->index)
			continue;
		threads[owner % NR_THREADS].chunks[threads[owner % NR_THREADS].nchunks++] =
			(struct chunk){
				.addr = p->shared + c * CHUNK,
				.state = p->shared_state + c * CHUNK_PAGES,
				.shared = true,
			};
	}
	for (i = 0; i < NR_THREADS; i++) {
		err = pthread_create(&tids[i], NULL, thread_main, &threads[i]);
		if (err)
			return 12;
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(tids[i], NULL);
	for (i = 0; i < p->ndev; i++) {
		if (vsvm_vm_destroy(p->fd[i], p->vm[i]))
			return 13;
		close(p->fd[i]);
	}
	return 0;
}

static unsigned int duration_seconds(void)
{
	const char *env = getenv("VSVM_STRESS_SECONDS");
	char cmdline[4096] = "", *opt;
	int fd;
	ssize_t len;

	if (env)
		return strtoul(env, NULL, 0);
	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		len = read(fd, cmdline, sizeof(cmdline) - 1);
		cmdline[len > 0 ? len : 0] = '\0';
		close(fd);
	}
	opt = strstr(cmdline, "vsvm.stress_seconds=");
	return opt ? strtoul(opt + 20, NULL, 0) : DEFAULT_SECONDS;
}

FIXTURE(stress) {
	int ndev;
	int fd[2];
	struct drm_vsvm_stats start[2];
};

FIXTURE_VARIANT(stress) {
	int ndev;
};

FIXTURE_VARIANT_ADD(stress, one_device) {
	.ndev = 1,
};

FIXTURE_VARIANT_ADD(stress, two_devices) {
	.ndev = 2,
};

FIXTURE_SETUP(stress)
{
	int i;

	self->ndev = variant->ndev;
	for (i = 0; i < self->ndev; i++) {
		self->fd[i] = vsvm_open(i);
		if (self->fd[i] < 0)
			SKIP(return, "no vsvm device %d", i);
		ASSERT_EQ(0, vsvm_stats(self->fd[i], 0, &self->start[i]));
	}
}

FIXTURE_TEARDOWN(stress)
{
	int i;

	for (i = 0; i < self->ndev; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
}

static void print_stats(struct __test_metadata *_metadata,
			const struct stress_stats *s, unsigned int seconds,
			int ndev)
{
	int i;

	ksft_print_msg("stress: %d device(s), %d processes x %d threads, %u s\n",
		       ndev, NR_PROCS, NR_THREADS, seconds);
	for (i = 0; i < NR_OPS; i++)
		ksft_print_msg("stress: op %-16s %8llu  errors %llu (last %d)\n",
			       op_names[i], (unsigned long long)s->ops[i],
			       (unsigned long long)s->errors[i], s->last_error[i]);
	ksft_print_msg("stress: gpu_jobs %llu vram_jobs %llu\n",
		       (unsigned long long)s->gpu_jobs,
		       (unsigned long long)s->vram_jobs);
	ksft_print_msg("stress: bytes_verified %llu bytes_lost %llu problems %llu\n",
		       (unsigned long long)s->bytes_verified,
		       (unsigned long long)s->bytes_lost,
		       (unsigned long long)s->bad);
}

/* What the device did during the variant. */
static void print_device(int i, const struct drm_vsvm_stats *start,
			 const struct drm_vsvm_stats *end)
{
	ksft_print_msg("stress: device %d: iommu_faults %llu stale_iovas %llu iova_checks %llu\n",
		       i, end->iommu_faults - start->iommu_faults,
		       end->stale_iovas - start->stale_iovas,
		       end->iova_checks - start->iova_checks);
	ksft_print_msg("stress: device %d: migrations_to_vram %llu migrations_to_ram %llu\n",
		       i, end->migrations_to_vram - start->migrations_to_vram,
		       end->migrations_to_ram - start->migrations_to_ram);
	ksft_print_msg("stress: device %d: evictions %llu gpu_faults %llu\n",
		       i, end->evictions - start->evictions,
		       end->gpu_faults - start->gpu_faults);
}

TEST_F_TIMEOUT(stress, mixed, 7200)
{
	unsigned int seconds = duration_seconds() / 2 + 1;
	__u64 beats[NR_PROCS][NR_THREADS] = {}, last_beat = vsvm_now_ms();
	struct stress_stats *s;
	struct page_state *shared_state;
	pid_t pids[NR_PROCS];
	int i, j, status, running = NR_PROCS;
	struct drm_vsvm_stats end;
	char *shared;
	bool hung = false;

	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	shared = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	shared_state = calloc(SHARED_SIZE / PAGE, sizeof(*shared_state));
	ASSERT_NE(NULL, shared_state);

	for (i = 0; i < NR_PROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			static struct proc p;
			char *raw;

			p.index = i;
			p.ndev = self->ndev;
			p.stats = s;
			p.shared = shared;
			p.shared_state = shared_state;
			p.deadline = vsvm_now_ms() + seconds * 1000ull;
			/* 2M aligned, so that ranges of every size form. */
			raw = mmap(NULL, PRIV_SIZE + SZ_2M, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (raw == MAP_FAILED)
				_exit(9);
			p.priv = (char *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));
			_exit(proc_main(&p));
		}
	}

	/* Until every process ended: a thread without progress is hung. */
	while (running) {
		sleep(1);
		for (i = 0; i < NR_PROCS; i++)
			for (j = 0; j < NR_THREADS; j++)
				if (beats[i][j] != s->heartbeat[i][j]) {
					beats[i][j] = s->heartbeat[i][j];
					last_beat = vsvm_now_ms();
				}
		if (!hung && vsvm_now_ms() - last_beat > HANG_MS) {
			hung = true;
			for (i = 0; i < NR_PROCS; i++)
				for (j = 0; j < NR_THREADS; j++)
					TH_LOG("hung: proc %d thread %d in %s", i, j,
					       s->cur_op[i][j] < NR_OPS ?
					       op_names[s->cur_op[i][j]] : "final check");
			for (i = 0; i < NR_PROCS; i++)
				kill(pids[i], SIGKILL);
		}
		for (i = 0; i < NR_PROCS; i++) {
			if (pids[i] <= 0 || waitpid(pids[i], &status, WNOHANG) != pids[i])
				continue;
			pids[i] = 0;
			running--;
			EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
				TH_LOG("process %d ended with status %#x", i, status);
		}
	}

	print_stats(_metadata, s, seconds, self->ndev);
	EXPECT_FALSE(hung);
	EXPECT_EQ(0, s->bytes_lost);
	EXPECT_EQ(0, s->bad)
		TH_LOG("first problem: %s", s->first_problem);
	EXPECT_LT(0, s->bytes_verified);
	for (i = 0; i < self->ndev; i++) {
		ASSERT_EQ(0, vsvm_stats(self->fd[i], 0, &end));
		print_device(i, &self->start[i], &end);
		EXPECT_EQ(self->start[i].iommu_faults, end.iommu_faults);
		EXPECT_EQ(self->start[i].stale_iovas, end.stale_iovas);
	}
	/* Every process is gone: its VRAM is free within seconds. */
	for (i = 0; i < self->ndev; i++) {
		__u64 deadline = vsvm_now_ms() + 10000;

		do {
			ASSERT_EQ(0, vsvm_stats(self->fd[i], 0, &end));
			if (!end.vram_pages_used)
				break;
			usleep(VSVM_POLL_US);
		} while (vsvm_now_ms() < deadline);
		EXPECT_EQ(0, end.vram_pages_used)
			TH_LOG("device %d: VRAM pages still used after every process exited", i);
	}
	free(shared_state);
	munmap(shared, SHARED_SIZE);
	munmap(s, sizeof(*s));
}

TEST_HARNESS_MAIN
