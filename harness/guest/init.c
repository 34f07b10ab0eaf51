// SPDX-License-Identifier: GPL-2.0-only
/*
 * /init of the selftest guest: mounts the pseudo filesystems, runs every
 * executable in /tests in sorted order, the fault-injection walk last, and
 * shuts the machine down.
 *
 * Everything goes to the console, where the host tells a finished run from a
 * crash or a hang by these lines (NAME is the file name in /tests):
 *
 *	vsvm-guest: init at SECONDS s after boot
 *	vsvm-guest: args: ARGS              (only with vsvm.selftest_args=)
 *	vsvm-guest: /dev/dri: NODE...       ("none" when there is no node)
 *	vsvm-guest: begin NAME
 *	vsvm-guest: end NAME exit=STATUS time=SECONDS s
 *	vsvm-guest: end NAME signal=SIGNAL time=SECONDS s
 *	vsvm-guest: error: WHAT
 *	vsvm-guest: done, N tests in SECONDS s, shutting down
 *
 * Kernel command line options (unknown to the kernel, read from /proc/cmdline):
 *
 *	vsvm.selftests=NAME[,NAME...]   run only these tests
 *	vsvm.selftest_args=ARG          extra arguments of every test, e.g.
 *	vsvm.selftest_args="-t NAME"    kselftest_harness's filters
 *
 * Each test runs in /tmp with /dev/null as stdin and the console as stdout
 * and stderr. Whatever it leaves running is killed before the next test.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest-say.h"

#define TESTS_DIR	"/tests"
#define MAX_ARGS	64

static char *const envp[] = { "PATH=" TESTS_DIR ":/", "HOME=/tmp", "TMPDIR=/tmp", NULL };

static char cmdline[4096];
static char selected[sizeof(cmdline) + 2];	/* ",NAME,NAME,", or "" for all */
static char *test_args[MAX_ARGS];
static int nr_test_args;

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mount_fs(const char *type, const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		say("error: mkdir %s: %m", dir);
	if (mount(type, dir, type, 0, NULL))
		say("error: mount %s on %s: %m", type, dir);
}

/*
 * The kernel opens the console for us when the initramfs has /dev/console;
 * open it again from devtmpfs so the output never depends on that.
 */
static void open_console(void)
{
	int in = open("/dev/null", O_RDONLY);
	int out = open("/dev/console", O_WRONLY | O_NOCTTY);

	if (in >= 0) {
		dup2(in, STDIN_FILENO);
		if (in != STDIN_FILENO)
			close(in);
	}
	if (out >= 0) {
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		if (out > STDERR_FILENO)
			close(out);
	}
}

/*
 * Split /proc/cmdline into words the way the kernel does: double quotes
 * group a word with its spaces and are dropped.
 */
static void parse_cmdline(void)
{
	char *src, *dst, *word;
	bool quoted = false;
	ssize_t len;
	int fd;

	fd = open("/proc/cmdline", O_RDONLY);
	len = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);
	if (fd >= 0)
		close(fd);
	if (len < 0) {
		say("error: reading /proc/cmdline: %m");
		return;
	}
	cmdline[len] = '\0';

	src = cmdline;
	while (*src) {
		while (*src == ' ' || *src == '\n')
			src++;
		if (!*src)
			break;
		word = src;
		dst = src;
		for (; *src && (quoted || (*src != ' ' && *src != '\n')); src++) {
			if (*src == '"')
				quoted = !quoted;
			else
				*dst++ = *src;
		}
		if (*src)
			src++;
		*dst = '\0';

		if (!strncmp(word, "vsvm.selftests=", 15)) {
			snprintf(selected, sizeof(selected), ",%s,", word + 15);
		} else if (!strncmp(word, "vsvm.selftest_args=", 19)) {
			for (word = strtok(word + 19, " "); word; word = strtok(NULL, " ")) {
				if (nr_test_args == MAX_ARGS) {
					say("error: more than %d test arguments", MAX_ARGS);
					break;
				}
				test_args[nr_test_args++] = word;
			}
		}
	}
}

static bool is_selected(const char *name)
{
	char item[NAME_MAX + 3];

	snprintf(item, sizeof(item), ",%s,", name);
	return !selected[0] || strstr(selected, item);
}

static int is_test(const struct dirent *d)
{
	struct stat st;
	char path[PATH_MAX];

	if (d->d_name[0] == '.' || !is_selected(d->d_name))
		return 0;
	snprintf(path, sizeof(path), TESTS_DIR "/%s", d->d_name);
	return !stat(path, &st) && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/*
 * The fault-injection walk fails the kernel's own allocations, DMA-API
 * debug's among them, and DMA-API debug turns itself off when one of its
 * allocations fails: it runs after every other test, which keeps it on.
 */
#define RUN_LAST	"vsvm_inject_test"

static int test_order(const struct dirent **a, const struct dirent **b)
{
	int last_a = !strcmp((*a)->d_name, RUN_LAST);
	int last_b = !strcmp((*b)->d_name, RUN_LAST);

	return last_a != last_b ? last_a - last_b : alphasort(a, b);
}

/* Every name of vsvm.selftests= must be a test in /tests. */
static void check_selected(struct dirent **tests, int n)
{
	char *list, *name;
	int i;

	if (!selected[0])
		return;
	list = strdup(selected);
	for (name = strtok(list, ","); name; name = strtok(NULL, ",")) {
		for (i = 0; i < n; i++)
			if (!strcmp(tests[i]->d_name, name))
				break;
		if (i == n)
			say("error: no test %s in " TESTS_DIR, name);
	}
	free(list);
}

static void list_dri_nodes(void)
{
	struct dirent **nodes;
	char line[512] = "";
	int n, i;

	n = scandir("/dev/dri", &nodes, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (nodes[i]->d_name[0] != '.' &&
		    strlen(line) + strlen(nodes[i]->d_name) + 2 < sizeof(line)) {
			strcat(line, " ");
			strcat(line, nodes[i]->d_name);
		}
		free(nodes[i]);
	}
	if (n >= 0)
		free(nodes);
	say("/dev/dri:%s", line[0] ? line : " none");
}

/*
 * Reap every child until @pid exits (PID 1 inherits all orphans) and return
 * its wait status.
 */
static int wait_for(pid_t pid)
{
	int status;
	pid_t w;

	for (;;) {
		w = waitpid(-1, &status, 0);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR) {
			say("error: waitpid: %m");
			return -1;
		}
	}
}

/* Kill and reap whatever the last test left behind. */
static void kill_leftovers(const char *name)
{
	int left = 0;
	pid_t w;

	kill(-1, SIGKILL);
	while ((w = waitpid(-1, NULL, 0)) > 0 || (w < 0 && errno == EINTR))
		left += w > 0;
	if (left)
		say("%s: killed %d leftover processes", name, left);
}

static void run_test(const char *name)
{
	char path[PATH_MAX];
	char *argv[MAX_ARGS + 2];
	double start;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), TESTS_DIR "/%s", name);
	argv[0] = path;
	memcpy(&argv[1], test_args, nr_test_args * sizeof(char *));
	argv[nr_test_args + 1] = NULL;

	say("begin %s", name);
	start = now(CLOCK_MONOTONIC);
	pid = fork();
	if (pid < 0) {
		say("error: fork: %m");
		return;
	}
	if (!pid) {
		setsid();
		execve(path, argv, envp);
		dprintf(STDERR_FILENO, "%s: exec: %m\n", path);
		_exit(127);
	}
	status = wait_for(pid);
	if (status >= 0 && WIFSIGNALED(status))
		say("end %s signal=%d time=%.3f s", name, WTERMSIG(status),
		    now(CLOCK_MONOTONIC) - start);
	else
		say("end %s exit=%d time=%.3f s", name,
		    status >= 0 ? WEXITSTATUS(status) : -1,
		    now(CLOCK_MONOTONIC) - start);
	kill_leftovers(name);
}

int main(void)
{
	struct dirent **tests;
	double start;
	int n, i;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");
	mount_fs("tmpfs", "/tmp");
	mount_fs("debugfs", "/sys/kernel/debug");
	open_console();

	say("init at %.3f s after boot", now(CLOCK_BOOTTIME));
	parse_cmdline();
	if (nr_test_args) {
		char line[sizeof(cmdline)] = "";

		for (i = 0; i < nr_test_args; i++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line),
				 " %s", test_args[i]);
		say("args:%s", line);
	}
	list_dri_nodes();

	if (chdir("/tmp"))
		say("error: chdir /tmp: %m");
	start = now(CLOCK_MONOTONIC);
	n = scandir(TESTS_DIR, &tests, is_test, test_order);
	if (n < 0) {
		say("error: " TESTS_DIR ": %m");
		tests = NULL;
		n = 0;
	}
	check_selected(tests, n);
	for (i = 0; i < n; i++) {
		run_test(tests[i]->d_name);
		free(tests[i]);
	}
	free(tests);

	say("done, %d tests in %.3f s, shutting down", n, now(CLOCK_MONOTONIC) - start);
	sync();
	/*
	 * QEMU runs with -no-reboot, so a reboot ends it: also on a machine
	 * without ACPI, where power-off only halts.
	 */
	reboot(RB_AUTOBOOT);
	say("error: reboot: %m");
	return 1;	/* the kernel panics when init exits */
}
