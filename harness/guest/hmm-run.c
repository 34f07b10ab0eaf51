// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's HMM selftest in the guest, run by /init (init.c) as the one
 * test of its boot: reserves huge pages and limits transparent huge pages
 * to madvise(); then, for each module listed in /hmm/modules (file names in
 * /hmm, one a line, in order), loads it, runs /hmm/hmm-tests and unloads
 * it. hmm-tests is tools/testing/selftests/mm/hmm-tests.c
 * as it is in the tree; the first module is the baseline (lib/test_hmm.c),
 * the others implement the same uAPI (/dev/hmm_dmirror0 and 1).
 *
 * Usage: hmm-run [HMM-TESTS ARGS]   (kselftest_harness filters, e.g. -t NAME)
 *
 * What the host reads, besides hmm-tests' own TAP output:
 *
 *	vsvm-guest: hugepages: N                 huge pages reserved
 *	vsvm-guest: transparent hugepages: madvise
 *	vsvm-guest: MODULE hugepages free N     before its run
 *	vsvm-guest: begin hmm-tests@MODULE
 *	vsvm-guest: time NAME SECONDS s          after each result of a case
 *	vsvm-guest: end hmm-tests@MODULE exit=STATUS time=SECONDS s
 *	vsvm-guest: MODULE thp_fault_alloc +N    THPs its run faulted in
 *	vsvm-guest: unloaded MODULE
 *	vsvm-guest: error: WHAT
 *
 * hmm-tests' output goes through a pipe, so that each case's time can follow
 * its result line; every line is written to the console as it comes.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-say.h"

#define HMM_DIR		"/hmm"
#define HUGEPAGES	"8"
#define MAX_ARGS	64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* hugetlbfs pages for the cases that map MAP_HUGETLB (compound runs only then). */
static void reserve_hugepages(void)
{
	char buf[32] = "";
	int fd;

	fd = open("/proc/sys/vm/nr_hugepages", O_RDWR);
	if (fd < 0 || write(fd, HUGEPAGES, strlen(HUGEPAGES)) < 0) {
		say("error: reserving huge pages: %m");
	} else if (lseek(fd, 0, SEEK_SET) < 0 || read(fd, buf, sizeof(buf) - 1) < 0) {
		say("error: reading nr_hugepages: %m");
	}
	if (fd >= 0)
		close(fd);
	say("hugepages: %d", atoi(buf));
}

/*
 * Transparent huge pages only where madvise() asks for them: 6.12's
 * make_device_exclusive_range() cannot take a PMD-mapped THP, so with THP
 * "always" the EXCLUSIVE cases fail with -EBUSY on the baseline too.
 * anon_write_huge still gets its THP with MADV_HUGEPAGE.
 */
static void thp_madvise(void)
{
	const char *path = "/sys/kernel/mm/transparent_hugepage/enabled";
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, "madvise", 7) < 0)
		say("error: %s: %m", path);
	else
		say("transparent hugepages: madvise");
	if (fd >= 0)
		close(fd);
}

/* The number after @key in @path (/proc/meminfo, /proc/vmstat), or -1. */
static long counter(const char *path, const char *key)
{
	char line[256];
	long value = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ') {
			value = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	fclose(f);
	return value;
}

static int load(const char *file)
{
	char path[300];
	int fd, err = 0;

	snprintf(path, sizeof(path), HMM_DIR "/%s", file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
		say("error: loading %s: %m", path);
		err = -1;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* Unload, giving the last file references a moment to go. */
static void unload(const char *name)
{
	int tries;

	for (tries = 0; tries < 50; tries++) {
		if (!syscall(SYS_delete_module, name, O_NONBLOCK)) {
			say("unloaded %s", name);
			return;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EBUSY)
			break;
		usleep(100000);
	}
	say("error: unloading %s: %m", name);
}

/* Copy the child's output to the console; a case's time after its result. */
static void relay(int fd)
{
	static char buf[65536];
	double start = now();
	size_t len = 0;
	ssize_t n;
	char *line, *nl;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
	       (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		len += n;
		buf[len] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			dprintf(STDOUT_FILENO, "%s\n", line);
			if (!strncmp(line, "#  RUN ", 7) || !strncmp(line, "#  RUN\t", 7))
				start = now();
			if (!strncmp(line, "ok ", 3) || !strncmp(line, "not ok ", 7)) {
				char *name = strchr(line + (line[0] == 'o' ? 3 : 7), ' ');

				if (name) {
					name[strcspn(name + 1, " ") + 1] = '\0';
					say("time %s %.3f s", name + 1, now() - start);
				}
				start = now();
			}
			line = nl + 1;
		}
		len = strlen(line);
		memmove(buf, line, len + 1);
		if (len == sizeof(buf) - 1) {
			dprintf(STDOUT_FILENO, "%s\n", buf);
			len = 0;
		}
	}
	if (len)
		dprintf(STDOUT_FILENO, "%s\n", buf);
}

static void run(const char *module, char **args, int nargs)
{
	char *argv[MAX_ARGS + 2] = { HMM_DIR "/hmm-tests" };
	int fds[2], status;
	double start;
	pid_t pid;

	memcpy(&argv[1], args, nargs * sizeof(*args));
	say("begin hmm-tests@%s", module);
	start = now();
	if (pipe(fds)) {
		say("error: pipe: %m");
		return;
	}
	pid = fork();
	if (pid < 0) {
		say("error: fork: %m");
		return;
	}
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "%s: exec: %m\n", argv[0]);
		_exit(127);
	}
	close(fds[1]);
	relay(fds[0]);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			say("error: waitpid: %m");
			return;
		}
	}
	if (WIFSIGNALED(status))
		say("end hmm-tests@%s signal=%d time=%.3f s", module,
		    WTERMSIG(status), now() - start);
	else
		say("end hmm-tests@%s exit=%d time=%.3f s", module,
		    WEXITSTATUS(status), now() - start);
}

int main(int argc, char **argv)
{
	char line[256], name[256];
	FILE *list;
	int n = 0;
	long thp;

	if (argc - 1 > MAX_ARGS) {
		say("error: more than %d arguments", MAX_ARGS);
		return 2;
	}
	list = fopen(HMM_DIR "/modules", "r");
	if (!list) {
		say("error: " HMM_DIR "/modules: %m");
		return 1;
	}
	reserve_hugepages();
	thp_madvise();
	while (fgets(line, sizeof(line), list)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(line, "."), line);
		n++;
		if (load(line))
			continue;
		/*
		 * What the host needs to tell a case that ran from one that
		 * returned early: compound without a huge page to map,
		 * anon_write_huge without a THP.
		 */
		say("%s hugepages free %ld", name,
		    counter("/proc/meminfo", "HugePages_Free:"));
		thp = counter("/proc/vmstat", "thp_fault_alloc");
		run(name, argv + 1, argc - 1);
		say("%s thp_fault_alloc +%ld", name,
		    counter("/proc/vmstat", "thp_fault_alloc") - thp);
		unload(name);
	}
	fclose(list);
	if (!n)
		say("error: no module in " HMM_DIR "/modules");
	return 0;
}
