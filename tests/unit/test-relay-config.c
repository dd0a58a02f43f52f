/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The relay's configuration loader and its secrets: the example of
 * salve.relay(5) loads with the values it says; every invalid fixture in
 * tests/data/relay/bad/ gives its message at its line:column (and never
 * quotes a secret); drop-ins merge in name order; secrets come from a
 * temporary $CREDENTIALS_DIRECTORY and from files whose owner and mode
 * are checked. */

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "notification.h"
#include "relay-config.h"
#include "secret.h"
#include "strv.h"

#define DATA TEST_DATA_DIR "/relay"

static void print_diags(const Diagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++)
                fprintf(stderr, "  %s:%u:%u: %s\n", d->items[i].file, d->items[i].line, d->items[i].column,
                        d->items[i].message);
}

static int load_file(const char *path, RelayConfig **ret, Diagnostics *d) {
        return relay_config_load(path, ret, d);
}

static void test_good(void **state) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        Diagnostics d = {};
        const RelayChannelConfig *ops, *am, *pd;

        if (load_file(DATA "/good.yaml", &c, &d) != 0)
                print_diags(&d);
        assert_non_null(c);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 0);
        assert_int_equal(c->n_channels, 3);

        ops = c->channels + 0;
        assert_string_equal(ops->name, "ops-hook");
        assert_int_equal(ops->type, CHANNEL_WEBHOOK);
        assert_int_equal(strv_length(ops->urls), 1);
        assert_string_equal(ops->urls[0], "https://hooks.example.com/salve");
        assert_string_equal(ops->secret_ref, "credential:ops-hook");
        assert_null(ops->routing_key_ref);
        /* every event but reminder */
        assert_int_equal(ops->events, ((UINT64_C(1) << _NOTIFY_EVENT_MAX) - 1) & ~(UINT64_C(1) << NOTIFY_REMINDER));
        assert_string_equal(ops->plans[0], "db-*");
        assert_null(ops->plans[1]);
        assert_int_equal(ops->min_severity, NOTIFY_SEVERITY_WARNING);
        assert_int_equal(ops->timeout, 10 * USEC_PER_SEC);
        assert_int_equal(ops->resend, 0);
        assert_int_equal(ops->pos.line, 3);
        assert_int_equal(ops->pos.column, 3);

        am = c->channels + 1;
        assert_int_equal(am->type, CHANNEL_ALERTMANAGER);
        assert_int_equal(strv_length(am->urls), 2);
        assert_string_equal(am->urls[1], "http://10.0.0.2:9093");
        assert_int_equal(am->resend, USEC_PER_MINUTE);
        assert_int_equal(am->resolved_for, 15 * USEC_PER_MINUTE);
        assert_int_equal(am->events, (UINT64_C(1) << _NOTIFY_EVENT_MAX) - 1);
        assert_null(am->plans);
        assert_int_equal(am->min_severity, NOTIFY_SEVERITY_INFO);

        pd = c->channels + 2;
        assert_int_equal(pd->type, CHANNEL_PAGERDUTY);
        assert_string_equal(pd->urls[0], RELAY_PAGERDUTY_URL_DEFAULT);
        assert_string_equal(pd->routing_key_ref, "credential:pd-routing");

        assert_int_equal(c->outbox.max_entries, 10000);
        assert_int_equal(c->outbox.max_dead, 1000);
        assert_int_equal(c->outbox.retry_initial, USEC_PER_SEC);
        assert_int_equal(c->outbox.retry_max, 5 * USEC_PER_MINUTE);
        assert_int_equal(c->outbox.give_up_after, 24 * USEC_PER_HOUR);
        assert_string_equal(c->ack.webhook_secrets[0], "credential:ack-hook");
        assert_int_equal(strv_length(c->ack.pagerduty_secrets), 2);
        assert_string_equal(c->ack.pagerduty_secrets[1], "credential:pd-webhook-2");
        assert_int_equal(c->ack.tolerance, 5 * USEC_PER_MINUTE);
        assert_string_equal(c->ack.approval_key, "credential:approval-key");
        diagnostics_done(&d);
}

static void test_wants(void **state) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        Diagnostics d = {};

        assert_int_equal(load_file(DATA "/good.yaml", &c, &d), 0);
        const RelayChannelConfig *ops = c->channels, *am = c->channels + 1;

        assert_true(relay_channel_wants(ops, NOTIFY_HUMAN_NEEDED, NOTIFY_SEVERITY_CRITICAL, "db-restore"));
        assert_false(relay_channel_wants(ops, NOTIFY_HUMAN_NEEDED, NOTIFY_SEVERITY_CRITICAL, "web-restart"));
        assert_false(relay_channel_wants(ops, NOTIFY_HUMAN_NEEDED, NOTIFY_SEVERITY_CRITICAL, NULL));
        assert_false(relay_channel_wants(ops, NOTIFY_ACKNOWLEDGED, NOTIFY_SEVERITY_INFO, "db-restore"));
        assert_true(relay_channel_wants(ops, NOTIFY_ACKNOWLEDGED, NOTIFY_SEVERITY_WARNING, "db-restore"));
        assert_false(relay_channel_wants(ops, NOTIFY_REMINDER, NOTIFY_SEVERITY_CRITICAL, "db-restore"));
        assert_true(relay_channel_wants(am, NOTIFY_REMINDER, NOTIFY_SEVERITY_INFO, NULL));
        assert_false(relay_channel_wants(am, _NOTIFY_EVENT_MAX, NOTIFY_SEVERITY_INFO, NULL));
        assert_false(relay_channel_wants(am, -1, NOTIFY_SEVERITY_INFO, NULL));
        assert_false(relay_channel_wants(NULL, NOTIFY_REMINDER, NOTIFY_SEVERITY_INFO, NULL));
        diagnostics_done(&d);
}

typedef struct Bad {
        const char *file;
        unsigned line, column;          /* 0: any */
        const char *message;            /* a substring of the error there */
        const char *never;              /* must appear in no message (a secret) */
} Bad;

static const Bad bad[] = {
        { "unknown-top.yaml", 1, 1, "unknown key \"channel\" in the relay configuration (did you mean \"channels\"?)" },
        { "unknown-channel-key.yaml", 4, 5, "channel \"ops\": unknown key \"ulr\" in the channel (did you mean \"url\"?)" },
        { "bad-type.yaml", 3, 11, "channel \"ops\": type: unknown channel type \"slack\"" },
        { "missing-type.yaml", 2, 3, "channel \"ops\": type: missing (webhook, alertmanager or pagerduty)" },
        { "url-scheme.yaml", 4, 10, "url: \"ftp://a.example/x\": only http:// and https:// URLs are sent to" },
        { "url-garbage.yaml", 4, 35, "urls: item 2: not a URL" },
        { "url-userinfo.yaml", 4, 10, "url: a URL must not carry a user name or password", "hunter2" },
        { "dup-channel.yaml", 6, 3, "duplicate key \"ops\" (first at line 2)" },
        { "missing-url.yaml", 2, 3, "channel \"ops\": url: missing (a webhook channel needs url: https://...)" },
        { "pd-no-key.yaml", 2, 3, "channel \"pd\": routing-key: missing" },
        { "bad-event.yaml", 6, 28, "events: unknown event \"human-neded\" (did you mean \"human-needed\"?)" },
        { "plain-secret.yaml", 5, 13, "secret: a plain value is refused: secrets never live in the configuration",
          "MfKQ9r8G" },
        { "plain-ack-secret.yaml", 2, 36, "ack: webhook-secrets: item 2: a plain value is refused", "s3cr3t" },
        { "events-scalar.yaml", 6, 13, "events: expected a list, got a scalar (write [value] for one item)" },
        { "bare-duration.yaml", 6, 14, "timeout: \"10\" is not a duration (a number needs its unit, e.g. 10s)" },
        { "bad-count.yaml", 2, 16, "outbox: max-entries: expected a whole number" },
        { "am-secret.yaml", 5, 5, "secret: only webhook channels take it (this one is alertmanager)" },
        { "webhook-resend.yaml", 6, 5, "resend: only alertmanager channels take it (this one is webhook)" },
        { "dead-over-max.yaml", 3, 13, "outbox: max-dead (500) must not exceed max-entries (100)" },
        { "retry-order.yaml", 3, 14, "outbox: retry-max (1m) must not be shorter than retry-initial (10m)" },
        { "bad-severity.yaml", 6, 19, "min-severity: expected info, warning, error or critical, got \"loud\"" },
        { "credential-name.yaml", 5, 13, "secret: \"credential:../etc/shadow\": a credential name is a file name" },
        { "file-relative.yaml", 2, 17, "ack: approval-key: \"file:keys/approval\": a file: secret needs an absolute path" },
        { "yaml-syntax.yaml", 0, 0, "" },
        { "url-and-urls.yaml", 5, 5, "urls: give url or urls, not both" },
        { "bad-name.yaml", 2, 3, "channel name \"-ops\" is not valid" },
        { "root-list.yaml", 1, 1, "the relay configuration: expected a mapping, got a list" },
        { "timeout-range.yaml", 6, 14, "timeout: 1h is out of range (100ms to 5m)" },
};

static void test_bad(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const Bad *b = bad + i;
                RelayConfig *c = NULL;
                Diagnostics d = {};
                char path[512];
                bool found = false;

                snprintf(path, sizeof(path), DATA "/bad/%s", b->file);
                assert_int_equal(load_file(path, &c, &d), -EINVAL);
                assert_null(c);
                assert_true(d.n_errors > 0);
                for (size_t j = 0; j < d.n_items; j++) {
                        const Diag *x = d.items + j;
                        assert_string_equal(x->file, path);
                        if (b->never)
                                assert_null(strstr(x->message, b->never));
                        if (x->level == DIAG_ERROR && (b->line == 0 || (x->line == b->line && x->column == b->column)) &&
                            strstr(x->message, b->message))
                                found = true;
                }
                if (!found) {
                        fprintf(stderr, "%s: wanted %u:%u: %s; got:\n", b->file, b->line, b->column, b->message);
                        print_diags(&d);
                }
                assert_true(found);
                diagnostics_done(&d);
        }
}

static void test_dropins(void **state) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        Diagnostics d = {};

        if (relay_config_load_dir(DATA "/merge", 0, &c, &d) != 0)
                print_diags(&d);
        assert_non_null(c);
        assert_int_equal(c->n_channels, 2);
        assert_string_equal(c->channels[0].name, "ops");
        assert_string_equal(c->channels[0].file, DATA "/merge/relay.yaml");
        assert_string_equal(c->channels[1].name, "pd");
        assert_string_equal(c->channels[1].file, DATA "/merge/relay.d/10-pd.yaml");
        assert_int_equal(c->outbox.max_entries, 2000);  /* the later file wins */
        assert_int_equal(c->outbox.max_dead, 10);       /* kept from the first */
        assert_string_equal(c->ack.approval_key, "credential:approval");
        assert_int_equal(d.n_items, 0);                 /* ignored.txt and .hidden.yaml are not read */
        diagnostics_done(&d);
}

static void test_dup_across_files(void **state) {
        RelayConfig *c = NULL;
        Diagnostics d = {};
        bool found = false;

        assert_int_equal(relay_config_load_dir(DATA "/dup-across", 0, &c, &d), -EINVAL);
        assert_null(c);
        for (size_t j = 0; j < d.n_items; j++)
                if (streq(d.items[j].file, DATA "/dup-across/relay.d/50-ops.yaml") && d.items[j].line == 3 &&
                    d.items[j].column == 3 &&
                    strstr(d.items[j].message, "channel \"ops\" is already defined at " DATA "/dup-across/relay.yaml:2:3"))
                        found = true;
        if (!found)
                print_diags(&d);
        assert_true(found);
        diagnostics_done(&d);
}

static void test_missing_and_empty(void **state) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL, *e = NULL;
        RelayConfig *x = NULL;
        Diagnostics d = {};

        /* no relay.yaml, no relay.d: no channels, the defaults */
        assert_int_equal(relay_config_load_dir(DATA "/does-not-exist", 0, &c, &d), 0);
        assert_int_equal(c->n_channels, 0);
        assert_int_equal(c->outbox.max_entries, RELAY_OUTBOX_MAX_ENTRIES_DEFAULT);
        assert_int_equal(c->outbox.retry_max, RELAY_OUTBOX_RETRY_MAX_DEFAULT);
        assert_int_equal(c->ack.tolerance, RELAY_ACK_TOLERANCE_DEFAULT);
        assert_non_null(c->ack.webhook_secrets);
        assert_null(c->ack.webhook_secrets[0]);
        assert_null(c->ack.approval_key);

        assert_int_equal(relay_config_load_buffer("empty.yaml", "# nothing\n", 10, 0, &e, &d), 0);
        assert_int_equal(e->n_channels, 0);
        assert_int_equal(d.n_items, 0);

        /* an explicit file must exist */
        assert_int_equal(relay_config_load(DATA "/nope.yaml", &x, &d), -EINVAL);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(d.items[0].message, "cannot open"));
        diagnostics_done(&d);
}

static void test_unsigned_webhook_warns(void **state) {
        _cleanup_(relay_config_freep) RelayConfig *c = NULL;
        const char *y = "channels:\n  ops:\n    type: webhook\n    url: http://127.0.0.1:8080/hook\n";
        Diagnostics d = {};

        assert_int_equal(relay_config_load_buffer("w.yaml", y, strlen(y), 0, &c, &d), 0);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 1);
        assert_int_equal(d.items[0].line, 2);
        assert_non_null(strstr(d.items[0].message, "sent unsigned"));
        diagnostics_done(&d);
}

/* ---- secrets ---- */

typedef struct Tmp {
        char dir[64];
        char creds[128];
} Tmp;

static int setup_tmp(void **state) {
        Tmp *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        strcpy(t->dir, "/tmp/test-relay-config-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->creds, sizeof(t->creds), "%s/creds", t->dir);
        assert_int_equal(mkdir(t->creds, 0700), 0);
        *state = t;
        return 0;
}

static int teardown_tmp(void **state) {
        Tmp *t = *state;
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        assert_int_equal(system(cmd), 0);
        unsetenv("CREDENTIALS_DIRECTORY");
        free(t);
        return 0;
}

static void write_file(const char *path, const char *s, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, s, strlen(s)), (ssize_t) strlen(s));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static void expect_secret(const char *ref, const char *want) {
        _cleanup_free_ char *why = NULL;
        void *p = NULL;
        size_t n = 0;
        int r = secret_load_full(ref, &p, &n, &why);

        if (r < 0)
                fprintf(stderr, "%s: %s\n", ref, strna(why));
        assert_int_equal(r, 0);
        assert_null(why);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(p, want, n);
        assert_int_equal(((char *) p)[n], 0);
        secret_free(p, n);
}

static void expect_refused(const char *ref, int error, const char *reason) {
        _cleanup_free_ char *why = NULL;
        void *p = NULL;
        size_t n = 0;

        assert_int_equal(secret_load_full(ref, &p, &n, &why), error);
        assert_null(p);
        assert_non_null(why);
        if (!strstr(why, reason))
                fprintf(stderr, "%s: got \"%s\", wanted \"%s\"\n", ref, why, reason);
        assert_non_null(strstr(why, reason));
}

static void test_secret_credentials(void **state) {
        Tmp *t = *state;
        char p[256];

        unsetenv("CREDENTIALS_DIRECTORY");
        expect_refused("credential:ops-hook", -ENXIO, "LoadCredential=ops-hook:");

        assert_int_equal(setenv("CREDENTIALS_DIRECTORY", t->creds, 1), 0);
        snprintf(p, sizeof(p), "%s/ops-hook", t->creds);
        /* systemd makes credentials 0400 root; the mode is not ours to judge here */
        write_file(p, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0444);
        expect_secret("credential:ops-hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
        expect_refused("credential:missing", -ENOENT, "no credential \"missing\"");
        expect_refused("credential:../ops-hook", -EINVAL, "a credential name is a file name");
        expect_refused("credential:", -EINVAL, "the credential name is empty");

        snprintf(p, sizeof(p), "%s/empty", t->creds);
        write_file(p, "", 0400);
        expect_refused("credential:empty", -ENODATA, "empty");
        snprintf(p, sizeof(p), "%s/dir", t->creds);
        assert_int_equal(mkdir(p, 0700), 0);
        expect_refused("credential:dir", -EPERM, "a directory, not a regular file");
}

static void test_secret_files(void **state) {
        Tmp *t = *state;
        char p[256], ref[300];

        snprintf(p, sizeof(p), "%s/key", t->dir);
        snprintf(ref, sizeof(ref), "file:%s", p);
        write_file(p, "raw key bytes", 0600);
        if (geteuid() != 0) {
                expect_refused(ref, -EPERM, "not root");
                skip();
        }
        expect_secret(ref, "raw key bytes");
        assert_int_equal(chmod(p, 0400), 0);
        expect_secret(ref, "raw key bytes");

        assert_int_equal(chmod(p, 0640), 0);
        expect_refused(ref, -EPERM, "mode 0640 lets its group read it; a secret file must be root's alone (chmod 0600");
        assert_int_equal(chmod(p, 0604), 0);
        expect_refused(ref, -EPERM, "mode 0604 lets everyone read it");
        assert_int_equal(chmod(p, 0620), 0);
        expect_refused(ref, -EPERM, "mode 0620 lets its group write or execute it");
        assert_int_equal(chmod(p, 0600), 0);
        assert_int_equal(chown(p, 65534, 0), 0);
        expect_refused(ref, -EPERM, "owned by uid 65534, not root");
        assert_int_equal(chown(p, 0, 0), 0);
        expect_secret(ref, "raw key bytes");

        expect_refused("file:relative/key", -EINVAL, "absolute path");
        expect_refused("file:/etc/../etc/shadow", -EINVAL, "\"..\"");
        snprintf(ref, sizeof(ref), "file:%s/none", t->dir);
        expect_refused(ref, -ENOENT, "cannot open");
        snprintf(ref, sizeof(ref), "file:%s/creds", t->dir);
        expect_refused(ref, -EPERM, "refusing to use it: it is a directory, not a regular file");
}

static void test_secret_sizes_and_plain(void **state) {
        Tmp *t = *state;
        char p[256], ref[300];
        char *big;

        expect_refused("hunter2", -EINVAL, "secrets never live in the configuration");
        {
                _cleanup_free_ char *why = NULL;
                void *x = NULL;
                size_t n;
                assert_int_equal(secret_load_full("hunter2", &x, &n, &why), -EINVAL);
                assert_null(strstr(why, "hunter2"));
        }
        if (geteuid() != 0)
                skip();
        snprintf(p, sizeof(p), "%s/big", t->dir);
        snprintf(ref, sizeof(ref), "file:%s", p);
        big = malloc(SECRET_SIZE_MAX + 2);
        assert_non_null(big);
        memset(big, 'k', SECRET_SIZE_MAX + 1);
        big[SECRET_SIZE_MAX + 1] = 0;
        write_file(p, big, 0600);
        expect_refused(ref, -EFBIG, "larger than");
        big[SECRET_SIZE_MAX] = 0;
        write_file(p, big, 0600);
        {
                void *x = NULL;
                size_t n = 0;
                assert_int_equal(secret_load(ref, &x, &n), 0);
                assert_int_equal(n, SECRET_SIZE_MAX);
                secret_free(x, n);
        }
        free(big);
}

/* salvectl verify: file: secrets are opened and judged, at the key. */
static void test_verify(void **state) {
        Tmp *t = *state;
        char key[256], cfg[256], yaml[1024];
        Diagnostics d = {};
        bool found = false;

        if (geteuid() != 0)
                skip();
        snprintf(key, sizeof(key), "%s/approval", t->dir);
        write_file(key, "k", 0644);
        snprintf(cfg, sizeof(cfg), "%s/relay.yaml", t->dir);
        snprintf(yaml, sizeof(yaml), "ack:\n  approval-key: file:%s\n  webhook-secrets: [credential:x]\n", key);
        write_file(cfg, yaml, 0644);

        assert_int_equal(relay_config_verify(t->dir, &d), -EINVAL);
        for (size_t i = 0; i < d.n_items; i++)
                if (d.items[i].line == 2 && d.items[i].column == 17 && streq(d.items[i].file, cfg) &&
                    strstr(d.items[i].message, "ack: approval-key: file:") &&
                    strstr(d.items[i].message, "mode 0644 lets everyone read it"))
                        found = true;
        if (!found)
                print_diags(&d);
        assert_true(found);
        diagnostics_done(&d);

        /* the same file loads for salved, which reads secrets only when it sets channels up */
        {
                _cleanup_(relay_config_freep) RelayConfig *c = NULL;
                assert_int_equal(relay_config_load_dir(t->dir, 0, &c, &d), 0);
                diagnostics_done(&d);
        }

        assert_int_equal(chmod(key, 0600), 0);
        assert_int_equal(relay_config_verify(t->dir, &d), 0);
        assert_int_equal(d.n_errors, 0);
        diagnostics_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_good),
                cmocka_unit_test(test_wants),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_dropins),
                cmocka_unit_test(test_dup_across_files),
                cmocka_unit_test(test_missing_and_empty),
                cmocka_unit_test(test_unsigned_webhook_warns),
                cmocka_unit_test_setup_teardown(test_secret_credentials, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_secret_files, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_secret_sizes_and_plain, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_verify, setup_tmp, teardown_tmp),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
