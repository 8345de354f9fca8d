/*
 * mmulab-wl: the validation workloads as they run on a real kernel (`mmulab validate`).
 *
 * Each workload is a loop that has a twin in the model (kernel/src/workloads/validation.ts):
 * the same system calls in the same order on the same addresses, the same threads pinned to
 * the same CPUs, a fixed number of iterations. Around the loop this program reads the kernel's
 * own counters — /proc/interrupts "TLB shootdowns" (irq_tlb_count, counted in flush_tlb_func on
 * every CPU but the initiator) and "Function call interrupts" (irq_call_count), /proc/meminfo
 * PageTables — and the trace of tlb:tlb_flush, of the x86 ___p{te,md,ud}_free_tlb functions
 * (each call is one page-table page handed to mmu_gather; its stack says which path freed it)
 * and of flush_tlb_mm_range through a kprobe that records its freed_tables argument.
 * It prints one JSON object per workload on its standard output.
 *
 * Usage: mmulab-wl WORKLOAD [name=value ...]      (run from the guest's /init)
 *        mmulab-wl exec-child                      (fork-exec's exec'd image; internal)
 *
 * Built static with Debian's gcc: gcc -O2 -static -pthread -o mmulab-wl mmulab-wl.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MB (1UL << 20)
#define GB (1UL << 30)
#define MAXCPU 64
#define TRACEFS "/sys/kernel/tracing"

/* Addresses shared with the model (kernel/src/workloads/validation.ts, VALIDATION_LAYOUT). */
#define TABLES_BASE 0x200000000000UL /* 32 TiB: a 512 GiB (pgd-entry) boundary */
#define SMALL_BASE 0x300000000000UL  /* mmap-munmap's 64 KiB region, alone in its pgd entry */
#define LAZY_PAGE 0x380000000000UL   /* lazy-tlb: the page the sleeping thread touches */
#define LAZY_UNMAP 0x3c0000000000UL  /* lazy-tlb: the region whose munmap frees tables */
#define STACK_TOP_MAX 0x7ffffffff000UL /* TASK_SIZE_MAX with 4-level paging */

static int ncpus;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "{\"error\":\"");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, " (errno %d)\"}\n", errno);
	va_end(ap);
	fflush(stdout);
	exit(1);
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpus, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity %d", cpu);
}

static void write_flags(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	if (fd < 0)
		die("open %s", path);
	if (write(fd, text, strlen(text)) < 0)
		die("write %s", path);
	close(fd);
}

static void write_file(const char *path, const char *text)
{
	write_flags(path, text, O_TRUNC);
}

/* Reads a whole (proc or tracefs) file into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (n + 4096 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0)
			die("read %s", path);
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* ------------------------------------------------------------------ counters */

struct snapshot {
	long tlb[MAXCPU]; /* "TLB:" row: irq_tlb_count */
	long cal[MAXCPU]; /* "CAL:" row: irq_call_count */
	long res[MAXCPU]; /* "RES:" row: rescheduling interrupts */
	long page_tables_kb;
};

static void read_row(const char *text, const char *tag, long *out)
{
	const char *p = strstr(text, tag);
	if (!p)
		die("no %s row in /proc/interrupts", tag);
	p += strlen(tag);
	for (int c = 0; c < ncpus; c++)
		out[c] = strtol(p, (char **)&p, 10);
}

static long meminfo(const char *key)
{
	char *text = read_file("/proc/meminfo", NULL);
	char *p = strstr(text, key);
	long v = p ? strtol(p + strlen(key), NULL, 10) : -1;
	free(text);
	return v;
}

static void snap(struct snapshot *s)
{
	char *text = read_file("/proc/interrupts", NULL);
	read_row(text, "CAL:", s->cal);
	read_row(text, "TLB:", s->tlb);
	read_row(text, "RES:", s->res);
	free(text);
	s->page_tables_kb = meminfo("PageTables:");
}

/* VmPTE of this process, kB: its page-table pages below the pgd (mm_pgtables_bytes). */
static long vm_pte_kb(void)
{
	char *text = read_file("/proc/self/status", NULL);
	char *p = strstr(text, "VmPTE:");
	long v = p ? strtol(p + 6, NULL, 10) : -1;
	free(text);
	return v;
}

/* ------------------------------------------------------------------ trace */

enum { LV_PTE, LV_PMD, LV_PUD, LV_P4D, NLEVEL };
static const char *level_names[NLEVEL] = { "pte", "pmd", "pud", "p4d" };
enum { P_MUNMAP, P_EXIT, P_EXEC_OLD_MM, P_SHIFT_ARG_PAGES, P_OTHER, NPATH };
static const char *path_names[NPATH] = { "munmap", "exit_mmap", "exec_mmap", "shift_arg_pages",
					 "other" };
/* tlb_flush reasons (include/linux/mm_types.h enum tlb_flush_reason) */
#define NREASON 5

struct trace_counts {
	long flush[MAXCPU][NREASON][2]; /* [cpu][reason][0 ranged, 1 full] */
	long frees[NLEVEL][NPATH];
	long overrun;
	/* flush_tlb_mm_range calls (kprobe), and those asked with freed_tables */
	long mm_range, mm_range_freed;
	/* sched_switch: time each CPU spent away from this program (kernel threads, idle) and how
	 * many times it left it: where the workload's mm is lazy or not loaded at all */
	double away_ms[MAXCPU];
	long away[MAXCPU];
};

static void trace_setup(void)
{
	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/buffer_size_kb", "8192");
	/* one function per write: the filter file takes the first name of a write */
	write_file(TRACEFS "/set_ftrace_filter", "___pte_free_tlb");
	write_flags(TRACEFS "/set_ftrace_filter", "___pmd_free_tlb", O_APPEND);
	write_flags(TRACEFS "/set_ftrace_filter", "___pud_free_tlb", O_APPEND);
	write_flags(TRACEFS "/set_ftrace_filter", "___p4d_free_tlb", O_APPEND);
	write_file(TRACEFS "/current_tracer", "function");
	write_file(TRACEFS "/options/func_stack_trace", "1");
	write_file(TRACEFS "/events/tlb/tlb_flush/enable", "1");
	write_file(TRACEFS "/events/sched/sched_switch/enable", "1");
	/* flush_tlb_mm_range(mm, start, end, stride_shift, freed_tables): a kprobe on it records
	 * whether each flush was asked with freed_tables (no tracepoint says so). Optional: a
	 * kernel without kprobe events reports the counts as unavailable. */
	int fd = open(TRACEFS "/kprobe_events", O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		const char *def =
			"p:mmulab/flush_mm_range flush_tlb_mm_range freed_tables=$arg5:u8\n";
		int ok = write(fd, def, strlen(def)) == (ssize_t)strlen(def);
		close(fd);
		if (ok)
			write_file(TRACEFS "/events/mmulab/flush_mm_range/enable", "1");
	}
}

static int have_flush_kprobe(void)
{
	return access(TRACEFS "/events/mmulab/flush_mm_range/enable", F_OK) == 0;
}

/* The timestamp ("12.345678:") of a trace line, in seconds. */
static double stamp_of(const char *line, const char *event)
{
	const char *p = strstr(line, event);
	if (!p)
		return 0;
	while (p > line && p[-1] == ' ')
		p--; /* back over the blank before the event name */
	while (p > line && p[-1] != ' ')
		p--; /* to the start of "12.345678:" */
	return strtod(p, NULL);
}

/* Clears the buffer and starts recording (before the "before" snapshot: clearing may IPI). */
static void trace_start(void)
{
	write_file(TRACEFS "/tracing_on", "0");
	write_file(TRACEFS "/trace", "");
	write_file(TRACEFS "/tracing_on", "1");
}

static void trace_stop(void)
{
	write_file(TRACEFS "/tracing_on", "0");
}

static int cpu_of(const char *line)
{
	const char *b = strstr(line, "] ");
	const char *a = b;
	while (a && a > line && *a != '[')
		a--;
	return a && *a == '[' ? atoi(a + 1) : -1;
}

/* Which kernel path freed a table, from its stack trace. */
static int path_of(const char *stack)
{
	if (strstr(stack, "=> setup_arg_pages") || strstr(stack, "=> shift_arg_pages"))
		return P_SHIFT_ARG_PAGES;
	if (strstr(stack, "=> exit_mmap"))
		return strstr(stack, "=> begin_new_exec") || strstr(stack, "=> exec_mmap")
			       ? P_EXEC_OLD_MM
			       : P_EXIT;
	if (strstr(stack, "munmap"))
		return P_MUNMAP;
	return P_OTHER;
}

/*
 * The trace interleaves the CPUs' buffers by time, so a function event's "<stack trace>" event
 * need not follow it directly: it is matched with the last ___pXd_free_tlb event of its CPU.
 */
static void trace_collect(struct trace_counts *t)
{
	int pending[MAXCPU];
	double left_at[MAXCPU]; /* when the CPU switched away from the workload, or -1 */
	memset(t, 0, sizeof(*t));
	for (int c = 0; c < ncpus; c++) {
		char path[128];
		snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/stats", c);
		char *stats = read_file(path, NULL);
		char *o = strstr(stats, "overrun:");
		if (o)
			t->overrun += strtol(o + 8, NULL, 10);
		free(stats);
		pending[c] = -1;
		left_at[c] = -1;
	}
	char *text = read_file(TRACEFS "/trace", NULL);
	char *line = text;
	while (line && *line) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		int cpu = cpu_of(line);
		char *f;
		if (cpu < 0 || cpu >= ncpus) {
			/* a stack line outside an event: skipped */
		} else if ((f = strstr(line, "sched_switch: prev_comm="))) {
			char *nx = strstr(f, "next_comm=");
			int prev_ours = strncmp(f + 24, "mmulab-wl ", 10) == 0;
			int next_ours = nx && strncmp(nx + 10, "mmulab-wl ", 10) == 0;
			double ts = stamp_of(line, "sched_switch:");
			if (prev_ours && !next_ours) {
				left_at[cpu] = ts;
				t->away[cpu]++;
			} else if (!prev_ours && next_ours && left_at[cpu] >= 0) {
				t->away_ms[cpu] += (ts - left_at[cpu]) * 1000;
				left_at[cpu] = -1;
			}
		} else if ((f = strstr(line, "flush_mm_range: ("))) {
			char *v = strstr(f, "freed_tables=");
			t->mm_range++;
			if (v && strtol(v + 13, NULL, 0) != 0)
				t->mm_range_freed++;
		} else if ((f = strstr(line, "tlb_flush: pages:"))) {
			long pages = strtol(f + 17, NULL, 10);
			char *r = strrchr(line, '(');
			int reason = r ? atoi(r + 1) : -1;
			if (reason >= 0 && reason < NREASON)
				t->flush[cpu][reason][pages == -1 ? 1 : 0]++;
		} else if ((f = strstr(line, ": ___p")) && strstr(f, "_free_tlb")) {
			f += 2;
			if (pending[cpu] >= 0) /* no stack recorded for the previous one */
				t->frees[pending[cpu]][P_OTHER]++;
			pending[cpu] = strncmp(f, "___pte", 6) == 0   ? LV_PTE
				       : strncmp(f, "___pmd", 6) == 0 ? LV_PMD
				       : strncmp(f, "___pud", 6) == 0 ? LV_PUD
								      : LV_P4D;
		} else if (strstr(line, "<stack trace>")) {
			char stack[4096] = "";
			size_t used = 0;
			while (next && strncmp(next, " => ", 4) == 0) {
				char *n2 = strchr(next, '\n');
				if (n2)
					*n2++ = 0;
				size_t l = strlen(next);
				if (used + l + 2 < sizeof(stack)) {
					memcpy(stack + used, next, l);
					used += l;
					stack[used++] = '\n';
					stack[used] = 0;
				}
				next = n2;
			}
			if (pending[cpu] >= 0 && strstr(stack, "_free_tlb")) {
				t->frees[pending[cpu]][path_of(stack)]++;
				pending[cpu] = -1;
			}
		}
		line = next;
	}
	for (int c = 0; c < ncpus; c++)
		if (pending[c] >= 0)
			t->frees[pending[c]][P_OTHER]++;
	free(text);
}

/* ------------------------------------------------------------------ output */

static void print_longs(const long *v, int n)
{
	printf("[");
	for (int i = 0; i < n; i++)
		printf("%s%ld", i ? "," : "", v[i]);
	printf("]");
}

/* Opens the result object: workload, CPU count, iterations; the caller adds its own fields. */
static void report(const char *name, long iterations, const struct snapshot *a,
		   const struct snapshot *b, const struct trace_counts *t)
{
	long d[MAXCPU];
	printf("{\"workload\":\"%s\",\"cpus\":%d,\"iterations\":%ld", name, ncpus, iterations);
	for (int c = 0; c < ncpus; c++)
		d[c] = b->tlb[c] - a->tlb[c];
	printf(",\"tlbShootdowns\":");
	print_longs(d, ncpus);
	for (int c = 0; c < ncpus; c++)
		d[c] = b->cal[c] - a->cal[c];
	printf(",\"callFunctionIpis\":");
	print_longs(d, ncpus);
	for (int c = 0; c < ncpus; c++)
		d[c] = b->res[c] - a->res[c];
	printf(",\"reschedIpis\":");
	print_longs(d, ncpus);
	printf(",\"pageTablesKb\":[%ld,%ld]", a->page_tables_kb, b->page_tables_kb);
	printf(",\"tlbFlushEvents\":[");
	for (int c = 0; c < ncpus; c++) {
		printf("%s[", c ? "," : "");
		for (int r = 0; r < NREASON; r++)
			printf("%s[%ld,%ld]", r ? "," : "", t->flush[c][r][0], t->flush[c][r][1]);
		printf("]");
	}
	printf("],\"tableFrees\":{");
	for (int l = 0; l < NLEVEL; l++) {
		printf("%s\"%s\":{", l ? "," : "", level_names[l]);
		for (int p = 0; p < NPATH; p++)
			printf("%s\"%s\":%ld", p ? "," : "", path_names[p], t->frees[l][p]);
		printf("}");
	}
	printf("},\"traceOverrun\":%ld", t->overrun);
	if (have_flush_kprobe())
		printf(",\"flushMmRange\":[%ld,%ld]", t->mm_range, t->mm_range_freed);
	else
		printf(",\"flushMmRange\":null");
	printf(",\"awaySwitches\":");
	print_longs(t->away, ncpus);
	printf(",\"awayMs\":[");
	for (int c = 0; c < ncpus; c++)
		printf("%s%.3f", c ? "," : "", t->away_ms[c]);
	printf("]");
}

static void report_end(void)
{
	printf("}\n");
	fflush(stdout);
}

/* ------------------------------------------------------------------ helpers */

static void *map_fixed(unsigned long addr, unsigned long len)
{
	/* MAP_NORESERVE: the 1 GiB region is larger than the guest's memory, and only one page
	 * in 512 is ever written */
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
	if (p != (void *)addr)
		die("mmap 0x%lx+0x%lx", addr, len);
	return p;
}

static void unmap(void *p, unsigned long len)
{
	if (munmap(p, len))
		die("munmap %p", p);
}

static long futex(int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static long param(int argc, char **argv, const char *key, long dflt)
{
	size_t k = strlen(key);
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=')
			return strtol(argv[i] + k + 1, NULL, 0);
	return dflt;
}

/*
 * The process was exec'd on whichever CPU the shell ran on and then pinned to CPU 0: the CPU it
 * left may still hold its mm lazily (in mm_cpumask). One munmap that frees page tables IPIs such
 * CPUs, which then leave the mask, so every workload starts from "mm on CPU 0 only".
 */
static void settle(void)
{
	volatile char *p = map_fixed(SMALL_BASE, PAGE);
	p[0] = 1;
	unmap((void *)p, PAGE);
}

/* ------------------------------------------------------------------ tlb_flush2 */

/*
 * will-it-scale tests/tlb_flush2.c, threads build: each pass maps 1 MiB, and for each page
 * writes it, madvise(MADV_DONTNEED)s it and reads it back (the read maps the zero page), then
 * unmaps the 1 MiB. `reuse=1` is the variant the issue first ran: one mapping kept for all
 * passes, so from the second pass on every write hits a zero-page pte and takes a
 * copy-on-write fault (wp_page_copy → ptep_clear_flush → flush_tlb_page).
 *
 * will-it-scale's workers never stop: every CPU runs the mm for the whole measurement. A fixed
 * iteration count would end with some threads done and their CPUs idle (lazy TLB: no longer
 * IPI'd) while the rest finish, so the workers spin in user mode before their first iteration
 * and after their last until all are done, and the counters are read while all of them spin.
 *
 * `sync=1` (the default) also lines the threads' passes up: they meet at a spinning barrier after
 * each mmap and after each munmap. Unaligned (`sync=0`, will-it-scale's own loop), one thread's
 * mmap waits for mmap_sem while another's page faults and madvise calls keep taking it for read
 * (6.1's rwsem lets a reader steal a free lock from a waiting writer until the writer has waited
 * a jiffy or two), and while the writer sleeps its CPU is idle and lazy: the other threads'
 * flushes skip it and run without IPIs, many iterations in a row. How many depends on the
 * machine's timing, so that form is reported but not what agreement is judged on.
 */
#define TLB_FLUSH2_SIZE (1 * MB)

static volatile int tf2_ready, tf2_go, tf2_done, tf2_leave;
static int tf2_threads;
static volatile int tf2_phase_count, tf2_phase;

struct tf2 {
	int cpu;
	long passes;
	int reuse;
	int sync;
};

/* A spinning barrier (the CPUs stay in the mm: no lazy TLB while the threads wait). */
static void tf2_barrier(void)
{
	int phase = tf2_phase;
	if (__atomic_add_fetch(&tf2_phase_count, 1, __ATOMIC_SEQ_CST) == tf2_threads) {
		tf2_phase_count = 0;
		__atomic_store_n(&tf2_phase, phase + 1, __ATOMIC_SEQ_CST);
	} else {
		while (tf2_phase == phase)
			__asm__ volatile("pause");
	}
}

static void *tlb_flush2_thread(void *arg)
{
	struct tf2 *a = arg;
	volatile char *addr = NULL;
	pin(a->cpu);
	__atomic_add_fetch(&tf2_ready, 1, __ATOMIC_SEQ_CST);
	while (!tf2_go)
		__asm__ volatile("pause");
	for (long pass = 0; pass < a->passes; pass++) {
		if (!a->reuse || pass == 0) {
			addr = mmap(NULL, TLB_FLUSH2_SIZE, PROT_READ | PROT_WRITE,
				    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
			if (addr == MAP_FAILED)
				die("mmap");
			if (a->sync)
				tf2_barrier();
		}
		for (unsigned long i = 0; i < TLB_FLUSH2_SIZE; i += PAGE) {
			addr[i] = 1;
			madvise((void *)(addr + i), PAGE, MADV_DONTNEED);
			if (addr[i] != 0)
				die("page not zero after MADV_DONTNEED");
		}
		if (!a->reuse || pass == a->passes - 1) {
			munmap((void *)addr, TLB_FLUSH2_SIZE);
			if (a->sync)
				tf2_barrier();
		}
	}
	__atomic_add_fetch(&tf2_done, 1, __ATOMIC_SEQ_CST);
	while (!tf2_leave)
		__asm__ volatile("pause");
	return NULL;
}

static void run_tlb_flush2(const char *name, int threads, long passes, int reuse, int sync)
{
	pthread_t tid[MAXCPU];
	struct tf2 args[MAXCPU];
	struct snapshot a, b;
	struct trace_counts t;
	tf2_ready = tf2_go = tf2_done = tf2_leave = 0;
	tf2_threads = threads;
	tf2_phase_count = tf2_phase = 0;
	for (int i = 0; i < threads; i++) {
		args[i] = (struct tf2){ .cpu = i, .passes = passes, .reuse = reuse, .sync = sync };
		pthread_create(&tid[i], NULL, tlb_flush2_thread, &args[i]);
	}
	while (tf2_ready < threads)
		usleep(1000);
	trace_start();
	snap(&a);
	tf2_go = 1;
	while (tf2_done < threads)
		usleep(1000);
	snap(&b);
	trace_stop();
	tf2_leave = 1;
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	trace_collect(&t);
	report(name, (long)threads * passes * (TLB_FLUSH2_SIZE / PAGE), &a, &b, &t);
	printf(",\"params\":{\"threads\":%d,\"passes\":%ld,\"reuse\":%d,\"sync\":%d,\"bytes\":%lu}",
	       threads, passes, reuse, sync, TLB_FLUSH2_SIZE);
	report_end();
}

/* ------------------------------------------------------------------ mmap-munmap */

/*
 * mmap 64 KiB at SMALL_BASE, write its 16 pages, munmap it: the munmap frees the pte, pmd and
 * pud tables (the region is alone in its pgd entry) and flushes 16 pages with freed_tables.
 * `spinner=1` adds a second thread of the process spinning in user mode on the next CPU, so the
 * mm is loaded (not lazy) there and every munmap flush IPIs it.
 */
#define SMALL_LEN (64 * 1024UL)

static volatile int spin_stop;
static volatile int spinning;

static void *spinner_thread(void *arg)
{
	pin(*(int *)arg);
	spinning = 1;
	while (!spin_stop)
		__asm__ volatile("pause");
	return NULL;
}

static void run_mmap_munmap(const char *name, long iters, int spinner)
{
	struct snapshot a, b;
	struct trace_counts t;
	pthread_t tid;
	int spin_cpu = 1;
	spin_stop = 0;
	spinning = 0;
	if (spinner) {
		pthread_create(&tid, NULL, spinner_thread, &spin_cpu);
		while (!spinning)
			sched_yield();
	}
	trace_start();
	snap(&a);
	for (long it = 0; it < iters; it++) {
		volatile char *p = map_fixed(SMALL_BASE, SMALL_LEN);
		for (unsigned long o = 0; o < SMALL_LEN; o += PAGE)
			p[o] = 1;
		unmap((void *)p, SMALL_LEN);
	}
	snap(&b);
	trace_stop();
	if (spinner) {
		spin_stop = 1;
		pthread_join(tid, NULL);
	}
	trace_collect(&t);
	report(name, iters, &a, &b, &t);
	printf(",\"params\":{\"spinner\":%d,\"base\":%lu,\"bytes\":%lu}", spinner, SMALL_BASE,
	       SMALL_LEN);
	report_end();
}

/* ------------------------------------------------------------------ munmap-large, exit */

/*
 * The tables region: [TABLES_BASE - 2 MiB, TABLES_BASE + 1 GiB + 2 MiB), one byte written per
 * 2 MiB: 514 pte tables, 3 pmd tables, 2 pud tables. munmap-large keeps a one-page neighbour
 * 1 MiB above the region (its own pte table, and the region's last pmd and pud stay), maps,
 * writes and unmaps the region `iters` times and records the VmPTE drop of each munmap.
 */
#define REGION_START (TABLES_BASE - 2 * MB)
#define REGION_LEN (GB + 4 * MB)
#define NEIGHBOUR (REGION_START + REGION_LEN + MB)

static void touch_region(void)
{
	volatile char *p = map_fixed(REGION_START, REGION_LEN);
	for (unsigned long o = 0; o < REGION_LEN; o += 2 * MB)
		p[o] = 1;
}

static void run_munmap_large(long iters)
{
	struct snapshot a, b;
	struct trace_counts t;
	long freed_kb = 0;
	volatile char *n = map_fixed(NEIGHBOUR, PAGE);
	n[0] = 1;
	trace_start();
	snap(&a);
	for (long it = 0; it < iters; it++) {
		touch_region();
		long before = vm_pte_kb();
		unmap((void *)REGION_START, REGION_LEN);
		freed_kb += before - vm_pte_kb();
	}
	snap(&b);
	trace_stop();
	unmap((void *)n, PAGE);
	trace_collect(&t);
	report("munmap-large", iters, &a, &b, &t);
	printf(",\"vmPteFreedKb\":%ld,\"params\":{\"start\":%lu,\"bytes\":%lu,\"stride\":%lu,"
	       "\"neighbour\":%lu}",
	       freed_kb, REGION_START, REGION_LEN, 2 * MB, NEIGHBOUR);
	report_end();
}

/*
 * exit-tables: a child (pinned where the parent is) maps and writes the tables region and
 * exits; exit_mmap frees every table. The child reports its VmPTE right after fork (the image
 * it inherited) and just before it exits.
 */
static void run_exit_tables(long iters)
{
	struct snapshot a, b;
	struct trace_counts t;
	long image_kb = 0, at_exit_kb = 0;
	trace_start();
	snap(&a);
	for (long it = 0; it < iters; it++) {
		int fd[2];
		long v[2];
		if (pipe(fd))
			die("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			v[0] = vm_pte_kb();
			touch_region();
			v[1] = vm_pte_kb();
			if (write(fd[1], v, sizeof(v)) != sizeof(v))
				_exit(2);
			_exit(0);
		}
		close(fd[1]);
		if (read(fd[0], v, sizeof(v)) != sizeof(v))
			die("read from child");
		close(fd[0]);
		int status;
		waitpid(pid, &status, 0);
		image_kb += v[0];
		at_exit_kb += v[1];
	}
	snap(&b);
	trace_stop();
	trace_collect(&t);
	report("exit-tables", iters, &a, &b, &t);
	printf(",\"imageVmPteKb\":%ld,\"exitVmPteKb\":%ld,\"params\":{\"start\":%lu,\"bytes\":%lu,"
	       "\"stride\":%lu}",
	       image_kb, at_exit_kb, REGION_START, REGION_LEN, 2 * MB);
	report_end();
}

/* ------------------------------------------------------------------ fork-exec */

/*
 * fork, exec this program as "exec-child" with no environment, wait. The exec'd image writes
 * the end of its [stack] VMA to fd 3: STACK_TOP_MAX minus that is the shift setup_arg_pages
 * gave shift_arg_pages (randomize_stack_top and arch_align_stack), which the model replays.
 */
static int exec_child(void)
{
	char *maps = read_file("/proc/self/maps", NULL);
	char *s = strstr(maps, "[stack]");
	unsigned long end = 0;
	if (s) {
		while (s > maps && s[-1] != '\n')
			s--;
		strtoul(s, &s, 16);
		end = strtoul(s + 1, NULL, 16);
	}
	char line[64];
	int l = snprintf(line, sizeof(line), "%lu\n", end);
	if (write(3, line, l) != l)
		return 2;
	return 0;
}

static void run_fork_exec(long iters)
{
	struct snapshot a, b;
	struct trace_counts t;
	unsigned long *shift = calloc(iters, sizeof(*shift));
	char *const argv[] = { "/mmulab-wl", "exec-child", NULL };
	char *const envp[] = { NULL };
	trace_start();
	snap(&a);
	for (long it = 0; it < iters; it++) {
		int fd[2];
		if (pipe(fd))
			die("pipe");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			dup2(fd[1], 3);
			execve(argv[0], argv, envp);
			_exit(127);
		}
		close(fd[1]);
		char buf[64] = "";
		ssize_t n = read(fd[0], buf, sizeof(buf) - 1);
		close(fd[0]);
		int status;
		waitpid(pid, &status, 0);
		if (n <= 0)
			die("exec-child said nothing");
		shift[it] = STACK_TOP_MAX - strtoul(buf, NULL, 10);
	}
	snap(&b);
	trace_stop();
	trace_collect(&t);
	report("fork-exec", iters, &a, &b, &t);
	printf(",\"stackShifts\":[");
	for (long it = 0; it < iters; it++)
		printf("%s%lu", it ? "," : "", shift[it]);
	printf("],\"params\":{\"argv\":[\"/mmulab-wl\",\"exec-child\"],\"envp\":[]}");
	report_end();
	free(shift);
}

/* ------------------------------------------------------------------ lazy-tlb */

/*
 * Two threads: B on CPU 1 writes LAZY_PAGE and sleeps on a futex (CPU 1 goes idle: lazy TLB
 * mode, the mm still loaded); A on CPU 0 waits until B has switched out, then
 *   1. madvise(MADV_DONTNEED) of LAZY_PAGE: no tables freed, the lazy CPU is not IPI'd;
 *   2. mmap/write/munmap of 64 KiB at LAZY_UNMAP: tables freed, so the flush IPIs the lazy
 *      CPU, which switches to init_mm and leaves mm_cpumask;
 *   3. the same again: CPU 1 is no longer in mm_cpumask and gets nothing;
 * and wakes B.
 */
static int lazy_wake;
static volatile int lazy_stop;

static long task_nvcsw(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	char *text = read_file(path, NULL);
	char *p = strstr(text, "voluntary_ctxt_switches:");
	long v = p ? strtol(p + 24, NULL, 10) : -1;
	free(text);
	return v;
}

static volatile pid_t lazy_b_tid;

static void *lazy_b(void *arg)
{
	(void)arg;
	pin(1);
	lazy_b_tid = syscall(SYS_gettid);
	while (!lazy_stop) {
		*(volatile char *)LAZY_PAGE = 1;
		int seen = __atomic_load_n(&lazy_wake, __ATOMIC_ACQUIRE);
		futex(&lazy_wake, FUTEX_WAIT_PRIVATE, seen);
	}
	return NULL;
}

static void wait_switched_out(long *nv)
{
	for (;;) {
		long v = task_nvcsw(lazy_b_tid);
		if (v > *nv) {
			*nv = v;
			break;
		}
		sched_yield();
	}
	/* the switch to idle (enter_lazy_tlb) follows the count at once; give it time */
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static void run_lazy_tlb(long iters)
{
	struct snapshot a, b;
	struct trace_counts t;
	pthread_t tid;
	if (ncpus < 2) {
		printf("{\"workload\":\"lazy-tlb\",\"cpus\":%d,\"skipped\":\"needs 2 CPUs\"}\n",
		       ncpus);
		fflush(stdout);
		return;
	}
	map_fixed(LAZY_PAGE, PAGE);
	lazy_stop = 0;
	lazy_b_tid = 0;
	pthread_create(&tid, NULL, lazy_b, NULL);
	while (!lazy_b_tid)
		sched_yield();
	long nv = 0;
	wait_switched_out(&nv);
	trace_start();
	snap(&a);
	for (long it = 0; it < iters; it++) {
		madvise((void *)LAZY_PAGE, PAGE, MADV_DONTNEED);
		for (int k = 0; k < 2; k++) {
			volatile char *p = map_fixed(LAZY_UNMAP, SMALL_LEN);
			for (unsigned long o = 0; o < SMALL_LEN; o += PAGE)
				p[o] = 1;
			unmap((void *)p, SMALL_LEN);
		}
		__atomic_add_fetch(&lazy_wake, 1, __ATOMIC_RELEASE);
		futex(&lazy_wake, FUTEX_WAKE_PRIVATE, 1);
		wait_switched_out(&nv);
	}
	snap(&b);
	trace_stop();
	lazy_stop = 1;
	__atomic_add_fetch(&lazy_wake, 1, __ATOMIC_RELEASE);
	futex(&lazy_wake, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(tid, NULL);
	unmap((void *)LAZY_PAGE, PAGE);
	trace_collect(&t);
	report("lazy-tlb", iters, &a, &b, &t);
	printf(",\"params\":{\"page\":%lu,\"unmap\":%lu,\"bytes\":%lu}", LAZY_PAGE, LAZY_UNMAP,
	       SMALL_LEN);
	report_end();
}

/* ------------------------------------------------------------------ info */

/* What the guest is: kernel release, command line, the CPU features that change flushing. */
static int print_info(void)
{
	char *release = read_file("/proc/sys/kernel/osrelease", NULL);
	char *cmdline = read_file("/proc/cmdline", NULL);
	char *cpuinfo = read_file("/proc/cpuinfo", NULL);
	char *thp = read_file("/sys/kernel/mm/transparent_hugepage/enabled", NULL);
	char *meltdown = read_file("/sys/devices/system/cpu/vulnerabilities/meltdown", NULL);
	char *flags = strstr(cpuinfo, "\nflags");
	char *end = flags ? strchr(flags + 1, '\n') : NULL;
	if (end)
		*end = 0;
	for (char *s2 = release; *s2; s2++)
		if (*s2 == '\n' || *s2 == '"')
			*s2 = 0;
	for (char *s2 = cmdline; *s2; s2++)
		if (*s2 == '\n' || *s2 == '"' || *s2 == '\\')
			*s2 = *s2 == '\n' ? 0 : ' ';
	for (char *s2 = thp; *s2; s2++)
		if (*s2 == '\n')
			*s2 = 0;
	for (char *s2 = meltdown; *s2; s2++)
		if (*s2 == '\n')
			*s2 = 0;
	printf("{\"info\":{\"release\":\"%s\",\"cmdline\":\"%s\",\"cpus\":%d,\"pcid\":%s,"
	       "\"invlpgb\":%s,\"hypervisor\":%s,\"thp\":\"%s\",\"meltdown\":\"%s\"}}\n",
	       release, cmdline, ncpus, flags && strstr(flags, " pcid") ? "true" : "false",
	       flags && strstr(flags, " invlpgb") ? "true" : "false",
	       flags && strstr(flags, " hypervisor") ? "true" : "false", thp, meltdown);
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "exec-child") == 0)
		return exec_child();
	if (argc < 2) {
		fprintf(stderr, "usage: %s WORKLOAD [name=value ...] | setup\n", argv[0]);
		return 2;
	}
	ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > MAXCPU)
		ncpus = MAXCPU;
	const char *w = argv[1];
	if (strcmp(w, "setup") == 0) {
		trace_setup();
		return 0;
	}
	if (strcmp(w, "info") == 0)
		return print_info();
	pin(0);
	settle();
	long iters = param(argc, argv, "iterations", 8);
	if (strcmp(w, "tlb_flush2") == 0)
		run_tlb_flush2(w, param(argc, argv, "threads", ncpus), param(argc, argv, "passes", 2), 0,
			       param(argc, argv, "sync", 1));
	else if (strcmp(w, "tlb_flush2-reuse") == 0)
		run_tlb_flush2(w, param(argc, argv, "threads", ncpus), param(argc, argv, "passes", 4), 1,
			       param(argc, argv, "sync", 1));
	else if (strcmp(w, "mmap-munmap") == 0)
		run_mmap_munmap(w, iters, 0);
	else if (strcmp(w, "mmap-munmap-2t") == 0)
		run_mmap_munmap(w, iters, 1);
	else if (strcmp(w, "munmap-large") == 0)
		run_munmap_large(iters);
	else if (strcmp(w, "exit-tables") == 0)
		run_exit_tables(iters);
	else if (strcmp(w, "fork-exec") == 0)
		run_fork_exec(iters);
	else if (strcmp(w, "lazy-tlb") == 0)
		run_lazy_tlb(iters);
	else {
		printf("{\"workload\":\"%s\",\"error\":\"unknown workload\"}\n", w);
		return 2;
	}
	return 0;
}
