/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* loop-ctl: creates and deletes loop devices by number through
 * /dev/loop-control (LOOP_CTL_ADD / LOOP_CTL_REMOVE), which is what makes
 * the kernel send real "add" and "remove" uevents for block devices
 * (attaching a file with losetup only sends "change"). Used by
 * test-watch-block.sh; not installed.
 *
 *   loop-ctl add N...          create loopN (fails if it exists)
 *   loop-ctl remove N...       delete loopN (it must be detached)
 *   loop-ctl flood FIRST COUNT ROUNDS KEEP
 *       ROUNDS times: create loopFIRST..loopFIRST+COUNT-1, then delete
 *       them all; then create them once more and delete all but the first
 *       KEEP. Prints the number of ioctls that succeeded. It only ever
 *       deletes numbers it created itself.
 * Exits 0 on success, 1 on an error (said on stderr). */

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/loop.h>

static int parse_number(const char *s) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v < 0 || v > (1 << 20)) {
                fprintf(stderr, "loop-ctl: bad number \"%s\"\n", s);
                exit(1);
        }
        return (int) v;
}

static int loop_add(int ctl, int n) {
        int r = ioctl(ctl, LOOP_CTL_ADD, n);

        if (r < 0) {
                fprintf(stderr, "loop-ctl: LOOP_CTL_ADD %d: %s\n", n, strerror(errno));
                return -1;
        }
        return 0;
}

static int loop_remove(int ctl, int n) {
        /* EBUSY while something (a probe) still has it open: retry a little. */
        for (int i = 0; i < 200; i++) {
                if (ioctl(ctl, LOOP_CTL_REMOVE, n) >= 0)
                        return 0;
                if (errno != EBUSY)
                        break;
                usleep(5000);
        }
        fprintf(stderr, "loop-ctl: LOOP_CTL_REMOVE %d: %s\n", n, strerror(errno));
        return -1;
}

int main(int argc, char *argv[]) {
        int ctl, ok = 0;

        if (argc < 3) {
                fprintf(stderr, "usage: loop-ctl add|remove N... | flood FIRST COUNT ROUNDS KEEP\n");
                return 1;
        }
        ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0) {
                fprintf(stderr, "loop-ctl: /dev/loop-control: %s\n", strerror(errno));
                return 1;
        }
        if (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "remove") == 0) {
                bool add = argv[1][0] == 'a';

                for (int i = 2; i < argc; i++)
                        if ((add ? loop_add : loop_remove)(ctl, parse_number(argv[i])) < 0)
                                return 1;
                return 0;
        }
        if (strcmp(argv[1], "flood") == 0 && argc == 6) {
                int first = parse_number(argv[2]), count = parse_number(argv[3]), rounds = parse_number(argv[4]),
                    keep = parse_number(argv[5]);

                for (int r = 0; r <= rounds; r++) {
                        for (int i = 0; i < count; i++) {
                                if (loop_add(ctl, first + i) < 0)
                                        return 1;
                                ok++;
                        }
                        for (int i = r == rounds ? keep : 0; i < count; i++) {
                                if (loop_remove(ctl, first + i) < 0)
                                        return 1;
                                ok++;
                        }
                }
                printf("%d\n", ok);
                return 0;
        }
        fprintf(stderr, "loop-ctl: unknown command \"%s\"\n", argv[1]);
        return 1;
}
