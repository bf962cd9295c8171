// SPDX-License-Identifier: GPL-2.0
/*
 * stratum1_lab: the virtual Pi lab's GPS receiver and its truth.
 *
 * It keeps a truth clock derived from CLOCK_MONOTONIC_RAW, which no adjtimex
 * touches: truth = base + raw * (1 - crystal_ppm * 1e-6), so the guest's
 * kernel clock behaves like a crystal crystal_ppm fast. A kernel thread
 * wakes 5 ms before each truth second, spins to the edge and reports the
 * kernel clock's reading at the edge to a registered PPS source (/dev/ppsN):
 * its assert times are the kernel clock's error against truth, as on a Pi.
 *
 * Every kernel-clock-versus-truth pair is read bracketed: raw, real, raw
 * back to back, keeping the try with the smallest raw bracket, so that an
 * emulator stall between two reads does not show as clock error. The edge
 * stamp is the bracketed real time taken back by the truth time elapsed
 * since the edge.
 *
 * Faults are module parameters, writable at run time under
 * /sys/module/stratum1_lab/parameters: crystal_ppm (the truth stays
 * continuous), offset_ns (re-bases truth so that kernel clock - truth is
 * that value now), latency_ns and jitter_ns (Gaussian standard deviation)
 * added to each stamp, outage (no pulses), missing_permille (pulses lost),
 * outlier_permille and outlier_ns (a pulse late by up to outlier_ns).
 *
 * /proc/stratum1_lab reads "truth_ns err_ns bracket_ns": the truth time and
 * kernel clock - truth, for the NMEA writer and the error monitor.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kthread.h>
#include <linux/hrtimer.h>
#include <linux/sched.h>
#include <linux/delay.h>
#include <linux/pps_kernel.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/spinlock.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>

#define NSEC 1000000000LL

static DEFINE_SPINLOCK(truth_lock);
static u64 raw_base;	/* raw time of the truth base */
static s64 truth_base;	/* truth at raw_base, ns since the epoch */
static int crystal_ppm;	/* under truth_lock once loaded */

static int jitter_ns;
module_param(jitter_ns, int, 0644);
MODULE_PARM_DESC(jitter_ns, "standard deviation of the edge stamps (ns)");
static int latency_ns;
module_param(latency_ns, int, 0644);
MODULE_PARM_DESC(latency_ns, "constant latency added to the edge stamps (ns)");
static bool outage;
module_param(outage, bool, 0644);
MODULE_PARM_DESC(outage, "no pulses while set");
static int missing_permille;
module_param(missing_permille, int, 0644);
MODULE_PARM_DESC(missing_permille, "pulses lost per thousand");
static int outlier_permille;
module_param(outlier_permille, int, 0644);
MODULE_PARM_DESC(outlier_permille, "late pulses per thousand");
static int outlier_ns = 200000;
module_param(outlier_ns, int, 0644);
MODULE_PARM_DESC(outlier_ns, "a late pulse comes up to this late (ns)");
static int clear_ms = 100;
module_param(clear_ms, int, 0644);
MODULE_PARM_DESC(clear_ms, "pulse width: the clear edge this long after assert");
static unsigned long pulses, lost, late;
module_param(pulses, ulong, 0444);
module_param(lost, ulong, 0444);
module_param(late, ulong, 0444);

/* Truth at raw time r. Caller holds truth_lock. */
static s64 truth_at(u64 r)
{
	u64 rate = NSEC - (s64)crystal_ppm * 1000;

	if (r >= raw_base)
		return truth_base + (s64)mul_u64_u64_div_u64(r - raw_base, rate, NSEC);
	return truth_base - (s64)mul_u64_u64_div_u64(raw_base - r, rate, NSEC);
}

/* Raw time at which truth reaches t (t after truth_base). Holds truth_lock. */
static u64 raw_at(s64 t)
{
	u64 rate = NSEC - (s64)crystal_ppm * 1000;

	if (t <= truth_base)
		return raw_base;
	return raw_base + mul_u64_u64_div_u64(t - truth_base, NSEC, rate);
}

/* A bracketed reading: the kernel clock (real) and raw at the same instant. */
struct pair {
	s64 real;
	u64 raw;
	u64 bracket;
};

static struct pair read_pair(void)
{
	struct pair best = { .bracket = U64_MAX };
	unsigned long flags;
	int i;

	for (i = 0; i < 8; i++) {
		struct timespec64 ts;
		u64 r1, r2;

		local_irq_save(flags);
		r1 = ktime_get_raw_ns();
		ktime_get_real_ts64(&ts);
		r2 = ktime_get_raw_ns();
		local_irq_restore(flags);
		if (r2 - r1 < best.bracket) {
			best.bracket = r2 - r1;
			best.raw = r1 + (r2 - r1) / 2;
			best.real = timespec64_to_ns(&ts);
		}
	}
	return best;
}

static int crystal_set(const char *val, const struct kernel_param *kp)
{
	unsigned long flags;
	u64 now;
	int ppm, err;

	err = kstrtoint(val, 0, &ppm);
	if (err)
		return err;
	if (ppm < -1000 || ppm > 1000)
		return -ERANGE;
	spin_lock_irqsave(&truth_lock, flags);
	now = ktime_get_raw_ns();
	truth_base = truth_at(now);	/* the truth stays continuous */
	raw_base = now;
	crystal_ppm = ppm;
	spin_unlock_irqrestore(&truth_lock, flags);
	return 0;
}

static int crystal_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%d\n", READ_ONCE(crystal_ppm));
}

static const struct kernel_param_ops crystal_ops = {
	.set = crystal_set,
	.get = crystal_get,
};
module_param_cb(crystal_ppm, &crystal_ops, NULL, 0644);
MODULE_PARM_DESC(crystal_ppm, "how fast the kernel clock's crystal runs (ppm)");

static long long offset_ns;

static int offset_set(const char *val, const struct kernel_param *kp)
{
	unsigned long flags;
	struct pair p;
	long long off;
	int err;

	err = kstrtoll(val, 0, &off);
	if (err)
		return err;
	p = read_pair();
	spin_lock_irqsave(&truth_lock, flags);
	raw_base = p.raw;
	truth_base = p.real - off;
	offset_ns = off;
	spin_unlock_irqrestore(&truth_lock, flags);
	return 0;
}

static int offset_get(char *buf, const struct kernel_param *kp)
{
	return sprintf(buf, "%lld\n", offset_ns);
}

static const struct kernel_param_ops offset_ops = {
	.set = offset_set,
	.get = offset_get,
};
module_param_cb(offset_ns, &offset_ops, NULL, 0644);
MODULE_PARM_DESC(offset_ns, "write: re-base truth so that kernel clock - truth is this now (ns)");

static struct pps_device *pps;
static struct task_struct *thread;

/* A standard normal sample times sigma, from twelve uniforms. */
static s64 gauss(int sigma)
{
	s64 sum = 0;
	int i;

	if (sigma <= 0)
		return 0;
	for (i = 0; i < 12; i++)
		sum += get_random_u32() & 0xffff;
	sum -= 6 * 0x10000;
	return div_s64(sum * sigma, 0x10000);
}

static bool chance(int permille)
{
	return permille > 0 && get_random_u32_below(1000) < permille;
}

/* Sleeps until raw time r, less slack, on the monotonic clock. */
static void sleep_until_raw(u64 r)
{
	s64 wait = (s64)(r - ktime_get_raw_ns());
	ktime_t until;

	if (wait <= 0)
		return;
	until = ns_to_ktime(ktime_get_ns() + wait);
	set_current_state(TASK_INTERRUPTIBLE);
	schedule_hrtimeout_range(&until, 50 * NSEC_PER_USEC, HRTIMER_MODE_ABS);
	__set_current_state(TASK_RUNNING);
}

static void edge(void)
{
	struct pps_event_time ev;
	unsigned long flags;
	s64 sec, stamp, since;
	u64 edge_raw;
	struct pair p;

	spin_lock_irqsave(&truth_lock, flags);
	sec = div_s64(truth_at(ktime_get_raw_ns()), NSEC) + 1;
	edge_raw = raw_at(sec * NSEC);
	spin_unlock_irqrestore(&truth_lock, flags);

	/* Arm 5 ms early: later timers lose pulses under emulation. */
	sleep_until_raw(edge_raw - 5 * NSEC_PER_MSEC);
	if (kthread_should_stop())
		return;
	while (ktime_get_raw_ns() < edge_raw) {
		if (kthread_should_stop())
			return;
		cpu_relax();
	}
	p = read_pair();
	spin_lock_irqsave(&truth_lock, flags);
	since = truth_at(p.raw) - sec * NSEC;
	spin_unlock_irqrestore(&truth_lock, flags);
	if (since < 0 || since > 400 * NSEC_PER_MSEC) {
		late++;	/* woken far too late, or the truth moved: no pulse */
		return;
	}
	if (READ_ONCE(outage))
		return;
	if (chance(READ_ONCE(missing_permille))) {
		lost++;
		return;
	}
	stamp = p.real - since + READ_ONCE(latency_ns) + gauss(READ_ONCE(jitter_ns));
	if (chance(READ_ONCE(outlier_permille)))
		stamp += get_random_u32_below(max(READ_ONCE(outlier_ns), 1));
	memset(&ev, 0, sizeof(ev));
	ev.ts_real = ns_to_timespec64(stamp);
#ifdef CONFIG_NTP_PPS
	ev.ts_raw = ns_to_timespec64(p.raw);
#endif
	pps_event(pps, &ev, PPS_CAPTUREASSERT, NULL);
	pulses++;

	if (READ_ONCE(clear_ms) > 0 && READ_ONCE(clear_ms) < 900) {
		spin_lock_irqsave(&truth_lock, flags);
		edge_raw = raw_at(sec * NSEC + READ_ONCE(clear_ms) * NSEC_PER_MSEC);
		spin_unlock_irqrestore(&truth_lock, flags);
		sleep_until_raw(edge_raw);
		if (kthread_should_stop())
			return;
		memset(&ev, 0, sizeof(ev));
		pps_get_ts(&ev);
		pps_event(pps, &ev, PPS_CAPTURECLEAR, NULL);
	}
}

static int edge_thread(void *unused)
{
	sched_set_fifo(current);
	while (!kthread_should_stop()) {
		edge();
		cond_resched();
	}
	return 0;
}

static ssize_t truth_read(struct file *f, char __user *buf, size_t n, loff_t *pos)
{
	unsigned long flags;
	struct pair p;
	char line[96];
	s64 truth;
	int len;

	p = read_pair();
	spin_lock_irqsave(&truth_lock, flags);
	truth = truth_at(p.raw);
	spin_unlock_irqrestore(&truth_lock, flags);
	len = scnprintf(line, sizeof(line), "%lld %lld %llu\n", truth, p.real - truth, p.bracket);
	return simple_read_from_buffer(buf, n, pos, line, len);
}

static const struct proc_ops truth_ops = {
	.proc_read = truth_read,
	.proc_lseek = default_llseek,
};

static struct pps_source_info info = {
	.name = "stratum1-lab",
	.path = "",
	.mode = PPS_CAPTUREBOTH | PPS_OFFSETASSERT | PPS_OFFSETCLEAR |
		PPS_CANWAIT | PPS_TSFMT_TSPEC,
	.owner = THIS_MODULE,
};

static int __init lab_init(void)
{
	struct pair p = read_pair();

	raw_base = p.raw;
	truth_base = p.real;
	pps = pps_register_source(&info, PPS_CAPTUREBOTH | PPS_OFFSETASSERT);
	if (IS_ERR(pps))
		return PTR_ERR(pps);
	if (!proc_create("stratum1_lab", 0444, NULL, &truth_ops)) {
		pps_unregister_source(pps);
		return -ENOMEM;
	}
	thread = kthread_run(edge_thread, NULL, "stratum1-lab");
	if (IS_ERR(thread)) {
		remove_proc_entry("stratum1_lab", NULL);
		pps_unregister_source(pps);
		return PTR_ERR(thread);
	}
	pr_info("stratum1_lab: PPS source pps%d, truth from CLOCK_MONOTONIC_RAW\n",
		pps->id);
	return 0;
}

static void __exit lab_exit(void)
{
	kthread_stop(thread);
	remove_proc_entry("stratum1_lab", NULL);
	pps_unregister_source(pps);
}

module_init(lab_init);
module_exit(lab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("stratum1 virtual Pi lab: PPS source and truth clock");
