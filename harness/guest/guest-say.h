/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the guest's programs (init.c, hmm-run.c) share: say(), a line of
 * theirs on the console, marked so that the judges can tell it from the
 * tests' output.
 */
#ifndef GUEST_SAY_H
#define GUEST_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define __printf(a, b)	__attribute__((format(printf, a, b)))

static __printf(1, 2) void say(const char *fmt, ...)
{
	char line[1024] = "vsvm-guest: ";
	size_t len = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	/* One write, so that kernel messages cannot split the line. */
	len = strlen(line);
	line[len] = '\n';
	write(STDOUT_FILENO, line, len + 1);
}

#endif
