#!/bin/busybox sh
# /init of the validation guest (mmulab validate): mount what the workloads read, run each
# workload named in MMULAB_RUN ("name:key=value,key=value ..." from the kernel command line) and
# send its JSON line to the second serial port, then power off.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mount -t tracefs tracefs /sys/kernel/tracing
# Quiet the housekeeping that would take the workloads' CPUs for no reason of theirs: proactive
# compaction (kcompactd wakes every 500 ms) and the per-second vmstat update (a kworker per CPU).
echo 0 > /proc/sys/vm/compaction_proactiveness
echo 3600 > /proc/sys/vm/stat_interval
exec 3>/dev/ttyS1
/mmulab-wl info >&3
/mmulab-wl setup >&3
for spec in $MMULAB_RUN; do
	name=${spec%%:*}
	args=$(echo "${spec#*:}" | /bin/busybox tr , ' ')
	/mmulab-wl "$name" $args >&3
done
echo '{"done":true}' >&3
/bin/busybox sleep 1
/bin/busybox poweroff -f
