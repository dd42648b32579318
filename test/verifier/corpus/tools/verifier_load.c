// SPDX-License-Identifier: GPL-2.0
/* verifier_load: loads one verifier-corpus case into the running kernel and
 * prints the verifier's verdict and log. Built and run by
 * scripts/record-verifier-corpus.ts (cc -O2 ... -lbpf).
 *
 * The request comes on stdin, one directive a line:
 *
 *   prog_type N            enum bpf_prog_type
 *   attach_type N          expected_attach_type (default 0)
 *   prog_flags N           BPF_F_* load flags (default 0)
 *   map TYPE KEY VALUE MAX FLAGS
 *                          one map, created in order (map index 0, 1, ...)
 *   insns N                then N lines "CODE DST SRC OFF IMM" (decimal)
 *   object PATH PROG       instead of maps/insns: a clang-built ELF object,
 *                          loaded with libbpf, only program PROG autoloaded
 *
 * In an instruction array, every ld_imm64 whose src_reg is BPF_PSEUDO_MAP_FD
 * (1) or BPF_PSEUDO_MAP_VALUE (2) and whose imm is a map index (0 <= imm <
 * number of maps) gets the map's fd in imm; other imms stay as they are.
 *
 * The program is loaded twice: with log_level 0 (the verdict and errno, which
 * a truncated log cannot turn into ENOSPC) and with log_level 1 and a 16 MiB
 * rotating log (the log; the kernel keeps its tail). Output:
 *
 *   verdict accepted|rejected
 *   errno N                (0 when accepted)
 *   log_errno N            (errno of the logged load, 0 when accepted)
 *   --- log
 *   ...the last 64 KiB of the log of the second load...
 *
 * or "error TEXT" when the request cannot be carried out (a map the caller
 * may not create, a malformed request).
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_MAPS 16
#define LOG_SIZE (16u << 20)
#define LOG_TAIL (64u << 10) /* bytes of the log printed: its end is what matters */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int die(const char *what)
{
	printf("error %s: %s (errno %d)\n", what, strerror(errno), errno);
	return 1;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static char log_buf[LOG_SIZE];

static void report(int err0, int err1)
{
	printf("verdict %s\n", err0 ? "rejected" : "accepted");
	printf("errno %d\n", err0);
	printf("log_errno %d\n", err1);
	size_t len = strnlen(log_buf, LOG_SIZE);
	const char *tail = log_buf + (len > LOG_TAIL ? len - LOG_TAIL : 0);

	printf("--- log\n");
	fwrite(tail, 1, len - (tail - log_buf), stdout);
}

/* libbpf: open the object, autoload only `name`, load; returns 0 or errno. */
static int load_object(const char *path, const char *name, __u32 level, int *found)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return errno ? errno : EINVAL;
	*found = 0;
	bpf_object__for_each_program(prog, obj) {
		int me = strcmp(bpf_program__name(prog), name) == 0;

		bpf_program__set_autoload(prog, me);
		if (me) {
			*found = 1;
			if (level) {
				bpf_program__set_log_level(prog, level);
				bpf_program__set_log_buf(prog, log_buf, LOG_SIZE);
			}
		}
	}
	if (!*found) {
		bpf_object__close(obj);
		return ENOENT;
	}
	err = bpf_object__load(obj);
	bpf_object__close(obj);
	return err < 0 ? -err : 0;
}

int main(void)
{
	static struct bpf_insn insns[1100000];
	char line[512], path[400] = "", prog_name[100] = "";
	int map_fd[MAX_MAPS], n_maps = 0;
	__u32 prog_type = 0, attach_type = 0, prog_flags = 0;
	unsigned long n_insns = 0;
	union bpf_attr attr;
	int err0 = 0, err1 = 0, fd;

	while (fgets(line, sizeof(line), stdin)) {
		unsigned int type, key, value, max, flags;
		unsigned long n;

		if (sscanf(line, "prog_type %u", &prog_type) == 1 ||
		    sscanf(line, "attach_type %u", &attach_type) == 1 ||
		    sscanf(line, "prog_flags %u", &prog_flags) == 1)
			continue;
		if (sscanf(line, "object %399s %99s", path, prog_name) == 2)
			continue;
		if (sscanf(line, "map %u %u %u %u %u", &type, &key, &value, &max, &flags) == 5) {
			if (n_maps == MAX_MAPS) {
				printf("error too many maps\n");
				return 1;
			}
			memset(&attr, 0, sizeof(attr));
			attr.map_type = type;
			attr.key_size = key;
			attr.value_size = value;
			attr.max_entries = max;
			attr.map_flags = flags;
			snprintf(attr.map_name, sizeof(attr.map_name), "corpus_%c", 'a' + n_maps);
			fd = sys_bpf(BPF_MAP_CREATE, &attr);
			if (fd < 0)
				return die("map create");
			map_fd[n_maps++] = fd;
			continue;
		}
		if (sscanf(line, "insns %lu", &n) == 1) {
			if (n > sizeof(insns) / sizeof(insns[0])) {
				printf("error too many instructions\n");
				return 1;
			}
			for (n_insns = 0; n_insns < n; n_insns++) {
				int code, dst, src, off, imm;

				if (!fgets(line, sizeof(line), stdin) ||
				    sscanf(line, "%d %d %d %d %d", &code, &dst, &src, &off, &imm) != 5) {
					printf("error bad instruction line %lu\n", n_insns);
					return 1;
				}
				insns[n_insns].code = code;
				insns[n_insns].dst_reg = dst;
				insns[n_insns].src_reg = src;
				insns[n_insns].off = off;
				insns[n_insns].imm = imm;
			}
			continue;
		}
		if (line[0] != '\n' && line[0] != '#') {
			printf("error unknown directive %s", line);
			return 1;
		}
	}

	if (path[0]) {
		int found;

		libbpf_set_print(quiet);
		err0 = load_object(path, prog_name, 0, &found);
		if (!found) {
			printf("error no program %s in %s\n", prog_name, path);
			return 1;
		}
		log_buf[0] = 0;
		err1 = load_object(path, prog_name, 1, &found);
		report(err0, err1);
		return 0;
	}

	for (unsigned long i = 0; i + 1 < n_insns; i++) {
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) &&
		    (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE) &&
		    insns[i].imm >= 0 && insns[i].imm < n_maps)
			insns[i].imm = map_fd[insns[i].imm];
		if (insns[i].code == (BPF_LD | BPF_IMM | BPF_DW))
			i++;
	}

	for (int pass = 0; pass < 2; pass++) {
		memset(&attr, 0, sizeof(attr));
		attr.prog_type = prog_type;
		attr.expected_attach_type = attach_type;
		attr.prog_flags = prog_flags;
		attr.insns = (uint64_t)(unsigned long)insns;
		attr.insn_cnt = n_insns;
		attr.license = (uint64_t)(unsigned long)"GPL";
		if (pass == 1) {
			log_buf[0] = 0;
			attr.log_level = 1;
			attr.log_buf = (uint64_t)(unsigned long)log_buf;
			attr.log_size = LOG_SIZE;
		}
		fd = sys_bpf(BPF_PROG_LOAD, &attr);
		if (pass == 0)
			err0 = fd < 0 ? errno : 0;
		else
			err1 = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}
	report(err0, err1);
	return 0;
}
