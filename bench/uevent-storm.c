/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* uevent-storm: a paced storm of kernel uevents for bench-watch.sh.
 *
 *   uevent-storm RATE SECONDS FLIP_FIRST FLIP_COUNT FLIP_INTERVAL_MS SYSFS_UEVENT...
 *
 * For SECONDS, at RATE writes a second, writes "change" to the given
 * /sys/class/block/NAME/uevent files in turn (each write makes the kernel
 * send a synthetic change uevent for that device). Meanwhile a child
 * process creates or deletes, in turn, one loop device of
 * loopFLIP_FIRST..loopFLIP_FIRST+FLIP_COUNT-1 every FLIP_INTERVAL_MS (0:
 * back to back) with LOOP_CTL_ADD/REMOVE: real add and remove uevents, so
 * there are net transitions to miss. (A child, because each of those
 * ioctls blocks for tens of ms, which would stall the pacing.) It only
 * deletes devices it created itself, and leaves the flip devices as the
 * storm left them (some present, some not), for the caller to compare a
 * watcher's view with /sys/class/block and then delete.
 *
 * An independent listener on NETLINK_KOBJECT_UEVENT (group 1, 256 MiB
 * receive buffer when root allows it) counts what the kernel actually
 * sent, drained between operations, so the achieved rate is measured and
 * not assumed. Pacing is by CLOCK_MONOTONIC: behind schedule it catches up
 * at once, ahead of it it sleeps 100 us.
 *
 * Prints one "key=value" line per figure, among them the numbers of the
 * flip devices left present ("present= N N ..."). Exits 1 on a setup
 * error. */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/loop.h>
#include <linux/netlink.h>

#define LISTENER_RCVBUF (256 * 1024 * 1024)

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static long parse_long(const char *s, long min, long max) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v < min || v > max) {
                fprintf(stderr, "uevent-storm: bad number \"%s\"\n", s);
                exit(1);
        }
        return v;
}

typedef struct Counts {
        uint64_t received, change, add, remove, other, lost;
} Counts;

/* Reads every queued datagram; counts those from the kernel by action. */
static void drain(int fd, Counts *c) {
        char buf[8192];

        for (;;) {
                struct sockaddr_nl sa;
                socklen_t sl = sizeof(sa);
                ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *) &sa, &sl);

                if (n < 0) {
                        if (errno == ENOBUFS) {
                                c->lost++;
                                continue;
                        }
                        return;         /* EAGAIN, or nothing more to learn */
                }
                if (sa.nl_pid != 0)
                        continue;
                buf[n] = 0;
                c->received++;
                if (strncmp(buf, "change@", 7) == 0)
                        c->change++;
                else if (strncmp(buf, "add@", 4) == 0)
                        c->add++;
                else if (strncmp(buf, "remove@", 7) == 0)
                        c->remove++;
                else
                        c->other++;
        }
}

/* The child: flips loop devices until the deadline, then prints its lines. */
static int flipper(long first, long count, long interval_ms, uint64_t deadline) {
        bool *present = calloc((size_t) count, sizeof(bool));
        uint64_t adds = 0, removes = 0, errors = 0;
        int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        long next = 0;

        if (!present || ctl < 0) {
                fprintf(stderr, "uevent-storm: /dev/loop-control: %s\n", strerror(errno));
                return 1;
        }
        while (now_ns() < deadline) {
                long i = next;
                next = (next + 1) % count;
                if (ioctl(ctl, present[i] ? LOOP_CTL_REMOVE : LOOP_CTL_ADD, first + i) < 0)
                        errors++;
                else if (present[i]) {
                        present[i] = false;
                        removes++;
                } else {
                        present[i] = true;
                        adds++;
                }
                if (interval_ms > 0)
                        usleep((useconds_t) interval_ms * 1000);
        }
        printf("loop_adds=%llu\n", (unsigned long long) adds);
        printf("loop_removes=%llu\n", (unsigned long long) removes);
        printf("ioctl_errors=%llu\n", (unsigned long long) errors);
        printf("present=");
        for (long i = 0; i < count; i++)
                if (present[i])
                        printf(" %ld", first + i);
        printf("\n");
        fflush(stdout);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc < 7) {
                fprintf(stderr, "usage: uevent-storm RATE SECONDS FLIP_FIRST FLIP_COUNT FLIP_INTERVAL_MS SYSFS_UEVENT...\n");
                return 1;
        }
        long rate = parse_long(argv[1], 1, 10000000);
        long seconds = parse_long(argv[2], 1, 3600);
        long flip_first = parse_long(argv[3], 0, 1 << 20);
        long flip_count = parse_long(argv[4], 0, 4096);
        long flip_interval = parse_long(argv[5], 0, 1000000);
        int n_files = argc - 6;
        int *fds = calloc((size_t) n_files, sizeof(int));
        int nl, status;
        pid_t child = -1;
        uint64_t ops = 0, write_errors = 0;
        uint64_t t0, deadline, t_end, max_behind = 0;
        Counts c = {};
        int rcvbuf = LISTENER_RCVBUF;
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };

        if (!fds)
                return 1;
        for (int i = 0; i < n_files; i++) {
                fds[i] = open(argv[6 + i], O_WRONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        fprintf(stderr, "uevent-storm: %s: %s\n", argv[6 + i], strerror(errno));
                        return 1;
                }
        }
        nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
        if (nl < 0 || bind(nl, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "uevent-storm: uevent socket: %s\n", strerror(errno));
                return 1;
        }
        if (setsockopt(nl, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
                (void) setsockopt(nl, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

        t0 = now_ns();
        deadline = t0 + (uint64_t) seconds * 1000000000u;
        fflush(stdout);
        if (flip_count > 0) {
                child = fork();
                if (child < 0) {
                        fprintf(stderr, "uevent-storm: fork: %s\n", strerror(errno));
                        return 1;
                }
                if (child == 0)
                        _exit(flipper(flip_first, flip_count, flip_interval, deadline));
        }
        for (;;) {
                uint64_t now = now_ns();
                if (now >= deadline)
                        break;
                uint64_t due = (now - t0) * (uint64_t) rate / 1000000000u;
                if (ops >= due) {
                        drain(nl, &c);
                        struct timespec ts = { .tv_nsec = 100000 };
                        nanosleep(&ts, NULL);
                        continue;
                }
                if (due - ops > max_behind)
                        max_behind = due - ops;
                /* At most 64 operations between drains: the listener must keep up. */
                for (int k = 0; k < 64 && ops < due; k++, ops++)
                        if (pwrite(fds[ops % (uint64_t) n_files], "change", 6, 0) != 6)
                                write_errors++;
                drain(nl, &c);
        }
        t_end = now_ns();
        if (child > 0 && (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                fprintf(stderr, "uevent-storm: the loop device child failed\n");
                return 1;
        }
        /* What the kernel sent by now is queued: give it a moment, then count. */
        usleep(200000);
        drain(nl, &c);

        double secs = (double) (t_end - t0) / 1e9;
        printf("seconds=%.3f\n", secs);
        printf("change_writes=%llu\n", (unsigned long long) ops);
        printf("rate=%.0f\n", (double) ops / secs);
        printf("write_errors=%llu\n", (unsigned long long) write_errors);
        printf("max_behind=%llu\n", (unsigned long long) max_behind);
        printf("listener_received=%llu\n", (unsigned long long) c.received);
        printf("listener_change=%llu\n", (unsigned long long) c.change);
        printf("listener_add=%llu\n", (unsigned long long) c.add);
        printf("listener_remove=%llu\n", (unsigned long long) c.remove);
        printf("listener_other=%llu\n", (unsigned long long) c.other);
        printf("listener_enobufs=%llu\n", (unsigned long long) c.lost);
        return 0;
}
