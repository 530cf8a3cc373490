/* Build progress renderers: plain, tty, json and quiet (progress.h). */
#include "cli/progress.h"

#include "base/buf.h"
#include "base/json.h"
#include "base/mem.h"
#include "base/utf8.h"
#include "base/vec.h"

#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define TTY_FRAME_GAP 0.1       /* seconds between redraws of the live view */
#define TTY_TAIL_LINES 6        /* output lines shown under the running steps, in all */
#define TTY_DEFAULT_WIDTH 80    /* when the terminal does not say */
#define TTY_DEFAULT_ROWS 24     /* likewise */
#define JSON_MAX_PENDING 65536u /* a longer unfinished line goes out in pieces */

/* A step that has started and not yet ended. Steps may run at the same
 * time, so everything that belongs to one is kept here, not in kn_progress. */
typedef struct active_step {
    int step;      /* ev->step */
    char *header;  /* "[stage i/n] TEXT", owned */
    double start;  /* when it started (CLOCK_MONOTONIC seconds) */
    kn_buf line;   /* its unfinished output line (plain, json) */
    kn_buf output; /* its whole output (tty, quiet: shown in full when it fails) */
} active_step;

struct kn_progress {
    kn_progress_mode mode;
    FILE *out;                 /* borrowed */
    KN_VEC(active_step) steps; /* the running steps, in step order */
    kn_buf finished;           /* tty: lines for finished steps, not yet on screen */
    size_t n_live;             /* tty: lines of the live view now on screen */
    double last_render;        /* tty: when the live view was last drawn */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kn_progress_parse_mode(const char *name, bool is_terminal, kn_progress_mode *mode, kn_err *err)
{
    static const struct {
        const char *name;
        kn_progress_mode mode;
    } modes[] = {
        {"plain", KN_PROGRESS_PLAIN},
        {"tty", KN_PROGRESS_TTY},
        {"json", KN_PROGRESS_JSON},
        {"quiet", KN_PROGRESS_QUIET},
    };
    if (!strcmp(name, "auto")) {
        *mode = is_terminal ? KN_PROGRESS_TTY : KN_PROGRESS_PLAIN;
        return 0;
    }
    for (size_t i = 0; i < KN_ARRAY_LEN(modes); i++) {
        if (!strcmp(name, modes[i].name)) {
            *mode = modes[i].mode;
            return 0;
        }
    }
    return kn_errf(err, KN_EUSAGE, "unknown progress mode %s: use auto, plain, tty, json or quiet",
                   name);
}

kn_progress *kn_progress_new(kn_progress_mode mode, FILE *out)
{
    kn_progress *p = kn_xcalloc(1, sizeof(*p));
    p->mode = mode;
    p->out = out;
    p->finished = (kn_buf)KN_BUF_INIT;
    return p;
}

/* ---- the running steps ---- */

static active_step *find_step(kn_progress *p, int step)
{
    for (size_t i = 0; i < p->steps.len; i++) {
        if (p->steps.items[i].step == step)
            return &p->steps.items[i];
    }
    return NULL;
}

/* Adds the step ev starts, keeping the table in step order (steps may
 * start out of order). The pointer lasts until the table next changes. */
static active_step *add_step(kn_progress *p, const kn_build_event *ev)
{
    size_t i = p->steps.len;
    while (i > 0 && p->steps.items[i - 1].step > ev->step)
        i--;
    kn_vec_reserve(&p->steps, p->steps.len + 1);
    active_step *st = &p->steps.items[i];
    memmove(st + 1, st, (p->steps.len - i) * sizeof(*st));
    p->steps.len++;
    kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "[%s %zu/%zu] %s", ev->stage, ev->index, ev->count, ev->text);
    *st = (active_step){.step = ev->step,
                        .header = kn_buf_release(&b),
                        .start = now(),
                        .line = KN_BUF_INIT,
                        .output = KN_BUF_INIT};
    return st;
}

static void drop_step(kn_progress *p, active_step *st)
{
    free(st->header);
    kn_buf_free(&st->line);
    kn_buf_free(&st->output);
    size_t i = (size_t)(st - p->steps.items);
    memmove(st, st + 1, (p->steps.len - i - 1) * sizeof(*st));
    p->steps.len--;
}

/* Bytes of data[0..len) that end on a character boundary: an unfinished
 * UTF-8 sequence at the end waits for the rest of its bytes. */
static size_t complete_prefix(const char *data, size_t len)
{
    size_t i = len;
    while (i > 0 && len - i < 3 && ((unsigned char)data[i - 1] & 0xc0) == 0x80)
        i--;
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)data[i - 1];
    size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    return need > len - (i - 1) ? i - 1 : len;
}

/* ---- plain: BuildKit's --progress=plain ---- */

/* "#N 0.123 text": output lines carry the seconds since their step started. */
static void plain_flush_line(kn_progress *p, active_step *st)
{
    if (!st->line.len)
        return;
    fprintf(p->out, "#%d %.3f %s\n", st->step, now() - st->start, st->line.data);
    kn_buf_reset(&st->line);
}

static void plain_event(kn_progress *p, active_step *st, const kn_build_event *ev)
{
    switch (ev->kind) {
    case KN_BUILD_STEP_START:
        fprintf(p->out, "#%d %s\n", st->step, st->header);
        break;
    case KN_BUILD_STEP_OUTPUT:
        for (const char *s = ev->data, *end = ev->data + ev->len; s < end;) {
            const char *nl = memchr(s, '\n', (size_t)(end - s));
            kn_buf_add(&st->line, s, (size_t)((nl ? nl : end) - s));
            if (!nl)
                break;
            plain_flush_line(p, st);
            s = nl + 1;
        }
        break;
    case KN_BUILD_STEP_DONE:
        plain_flush_line(p, st);
        fprintf(p->out, "#%d DONE %.1fs\n", st->step, ev->seconds);
        break;
    case KN_BUILD_STEP_ERROR:
        plain_flush_line(p, st);
        fprintf(p->out, "#%d ERROR: %s\n", st->step, ev->message ? ev->message : "failed");
        break;
    case KN_BUILD_STEP_CANCELED:
        plain_flush_line(p, st);
        fprintf(p->out, "#%d CANCELED\n", st->step);
        break;
    case KN_BUILD_TICK: /* seen to in kn_progress_event */
        break;
    }
}

/* ---- quiet: silent until a step fails ---- */

/* The failing step's output, whole, so a quiet build still says why. */
static void quiet_event(kn_progress *p, active_step *st, const kn_build_event *ev)
{
    if (ev->kind != KN_BUILD_STEP_ERROR)
        return;
    if (st->output.len) {
        fprintf(p->out, "%s\n", st->header);
        fwrite(st->output.data, 1, st->output.len, p->out);
        if (st->output.data[st->output.len - 1] != '\n')
            fputc('\n', p->out);
    }
    fprintf(p->out, "#%d ERROR: %s\n", st->step, ev->message ? ev->message : "failed");
}

/* ---- json: one event per line ---- */

static void json_write(kn_progress *p, kn_buf *b)
{
    kn_buf_addc(b, '\n');
    fwrite(b->data, 1, b->len, p->out);
}

static void json_output(kn_progress *p, int step, const char *data, size_t len)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    kn_buf_addf(&b, "{\"step\":%d,\"event\":\"output\",\"data\":", step);
    kn_json_write_string(&b, data, len);
    kn_buf_addc(&b, '}');
    json_write(p, &b);
}

/* Output goes out a line at a time (with its newline), so no event splits a
 * character; a line longer than JSON_MAX_PENDING goes out in pieces. */
static void json_add_output(kn_progress *p, active_step *st, const char *data, size_t len)
{
    kn_buf *line = &st->line;
    kn_buf_add(line, data, len);
    const char *nl = memrchr(line->data, '\n', line->len);
    size_t n = nl ? (size_t)(nl - line->data) + 1 : 0;
    if (line->len - n >= JSON_MAX_PENDING)
        n = complete_prefix(line->data, line->len);
    if (!n)
        return;
    json_output(p, st->step, line->data, n);
    memmove(line->data, line->data + n, line->len - n);
    kn_buf_truncate(line, line->len - n);
}

static void json_flush_line(kn_progress *p, active_step *st)
{
    if (st->line.len)
        json_output(p, st->step, st->line.data, st->line.len);
    kn_buf_reset(&st->line);
}

static void json_event(kn_progress *p, active_step *st, const kn_build_event *ev)
{
    static const char *const end_names[] = {
        [KN_BUILD_STEP_DONE] = "done",
        [KN_BUILD_STEP_ERROR] = "error",
        [KN_BUILD_STEP_CANCELED] = "canceled",
    };
    kn_autobuf kn_buf b = KN_BUF_INIT;
    switch (ev->kind) {
    case KN_BUILD_STEP_START:
        kn_buf_addf(&b, "{\"step\":%d,\"event\":\"start\",\"stage\":", ev->step);
        kn_json_write_cstr(&b, ev->stage);
        kn_buf_addf(&b, ",\"index\":%zu,\"count\":%zu,\"text\":", ev->index, ev->count);
        kn_json_write_cstr(&b, ev->text);
        kn_buf_addc(&b, '}');
        break;
    case KN_BUILD_STEP_OUTPUT:
        json_add_output(p, st, ev->data, ev->len);
        return;
    case KN_BUILD_TICK:
        return;
    case KN_BUILD_STEP_DONE:
    case KN_BUILD_STEP_ERROR:
    case KN_BUILD_STEP_CANCELED:
        json_flush_line(p, st);
        kn_buf_addf(&b, "{\"step\":%d,\"event\":\"%s\",\"seconds\":%.3f", st->step,
                    end_names[ev->kind], ev->seconds);
        if (ev->kind == KN_BUILD_STEP_ERROR) {
            kn_buf_adds(&b, ",\"message\":");
            kn_json_write_cstr(&b, ev->message ? ev->message : "failed");
        }
        kn_buf_addc(&b, '}');
        break;
    }
    json_write(p, &b);
}

/* ---- tty: a live view ----
 *
 * Lines for finished steps are written once and scroll away like any
 * output; only the live view below them (a line per running step with its
 * timer, in step order, and the last lines of their output) is erased and
 * drawn again. Each live line is cut to the terminal's width and the view
 * to its height, so the cursor moves back up exactly as many lines as were
 * drawn. The view is drawn on events (the build's ticks among them, so
 * timers move while steps are silent), at most every TTY_FRAME_GAP seconds,
 * and at once when a step starts or ends. */

/* The terminal's columns and rows, or the defaults when it does not say. */
static void tty_size(kn_progress *p, size_t *cols, size_t *rows)
{
    struct winsize ws;
    bool is_known = ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0;
    *cols = is_known && ws.ws_col > 8 ? ws.ws_col : TTY_DEFAULT_WIDTH;
    *rows = is_known && ws.ws_row > 2 ? ws.ws_row : TTY_DEFAULT_ROWS;
}

static size_t tty_width(kn_progress *p)
{
    size_t cols, rows;
    tty_size(p, &cols, &rows);
    return cols;
}

/* Appends s for display on one line: control characters (escapes from the
 * step's output among them) become spaces, bad UTF-8 bytes '?', and at
 * most max_cols characters go in. Returns the columns used. */
static size_t add_display(kn_buf *b, const char *s, size_t len, size_t max_cols)
{
    size_t cols = 0;
    for (size_t i = 0; i < len && cols < max_cols; cols++) {
        unsigned char c = (unsigned char)s[i];
        bool is_valid = true;
        size_t n = c < 0x80 ? 1 : kn_utf8_decode(s + i, len - i, &is_valid);
        if (c < 0x20 || c == 0x7f)
            kn_buf_addc(b, ' ');
        else if (!is_valid)
            kn_buf_addc(b, '?');
        else
            kn_buf_add(b, s + i, n);
        i += n;
    }
    return cols;
}

/* Adds "=> [stage i/n] TEXT" with the seconds at the right edge. The live
 * line is cut to the width; a finished step's line keeps its whole text. */
static void tty_add_step_line(kn_buf *b, const char *prefix, const char *header, double secs,
                              size_t width, bool is_live)
{
    char time[32];
    snprintf(time, sizeof(time), " %.1fs", secs);
    size_t time_len = strlen(time);
    size_t room = width - 1 > time_len + 3 ? width - 1 - time_len : 3;
    size_t max_cols = is_live ? room : SIZE_MAX;
    size_t cols = add_display(b, prefix, strlen(prefix), max_cols);
    cols += add_display(b, header, strlen(header), max_cols - cols);
    for (; cols < room; cols++)
        kn_buf_addc(b, ' ');
    kn_buf_adds(b, time);
    kn_buf_addc(b, '\n');
}

/* Adds the last max_lines lines of a step's output (what follows a
 * carriage return replaces the line, as on a terminal). Returns the number
 * of lines added. */
static size_t tty_add_tail(const kn_buf *output, kn_buf *b, size_t width, size_t max_lines)
{
    const char *data = output->data;
    size_t end = output->len;
    if (end && data[end - 1] == '\n')
        end--;
    if (end == 0 || max_lines == 0)
        return 0;
    size_t begin = end;
    for (size_t n = 1; n <= max_lines; n++) {
        const char *nl = memrchr(data, '\n', begin);
        if (!nl) {
            begin = 0;
            break;
        }
        /* Stop after the newline that ends the line before the tail. */
        begin = (size_t)(nl - data) + (n == max_lines);
    }
    size_t n_lines = 0;
    for (size_t s = begin; s <= end; n_lines++) {
        const char *nl = memchr(data + s, '\n', end - s);
        size_t e = nl ? (size_t)(nl - data) : end;
        const char *cr = memrchr(data + s, '\r', e - s);
        size_t from = cr ? (size_t)(cr - data) + 1 : s;
        kn_buf_adds(b, "   ");
        add_display(b, data + from, e - from, width - 4);
        kn_buf_addc(b, '\n');
        s = e + 1;
    }
    return n_lines;
}

/* Adds the live view at time t: a line per running step, in step order,
 * each followed by the tail of its output. The steps with output share
 * TTY_TAIL_LINES lines (one each at least), and the view keeps to
 * max_lines (steps beyond it are only counted), so it never scrolls the
 * cursor's way back up off the screen. Returns the number of lines added. */
static size_t tty_add_live(kn_progress *p, kn_buf *b, double t, size_t width, size_t max_lines)
{
    size_t n_steps = p->steps.len, n_talking = 0;
    for (size_t i = 0; i < n_steps; i++)
        n_talking += p->steps.items[i].output.len > 0;
    size_t n_shown = n_steps <= max_lines ? n_steps : max_lines - 1;
    size_t n_spare = max_lines - n_shown - (n_shown < n_steps);
    size_t n_tail = n_talking > TTY_TAIL_LINES ? 1 : TTY_TAIL_LINES / (n_talking ? n_talking : 1);
    size_t n_lines = 0;
    for (size_t i = 0; i < n_shown; i++) {
        const active_step *st = &p->steps.items[i];
        tty_add_step_line(b, "=> ", st->header, t - st->start, width, true);
        size_t n = tty_add_tail(&st->output, b, width, n_tail < n_spare ? n_tail : n_spare);
        n_spare -= n;
        n_lines += 1 + n;
    }
    if (n_shown < n_steps) {
        char more[64];
        snprintf(more, sizeof(more), "=> %zu more steps running", n_steps - n_shown);
        add_display(b, more, strlen(more), width - 1);
        kn_buf_addc(b, '\n');
        n_lines++;
    }
    return n_lines;
}

static void tty_render(kn_progress *p, bool is_forced)
{
    double t = now();
    if (!is_forced && t - p->last_render < TTY_FRAME_GAP)
        return;
    p->last_render = t;
    size_t width, rows;
    tty_size(p, &width, &rows);
    kn_autobuf kn_buf b = KN_BUF_INIT;
    if (p->n_live)
        kn_buf_addf(&b, "\r\033[%zuA\033[J", p->n_live); /* up to the live view; erase it */
    kn_buf_add(&b, p->finished.data, p->finished.len);
    kn_buf_reset(&p->finished);
    /* The cursor ends on the row below the view, so the view gets one row less. */
    p->n_live = tty_add_live(p, &b, t, width, rows - 1);
    fwrite(b.data, 1, b.len, p->out);
}

/* Queues what an ending step leaves on screen; the live view is drawn
 * again once the step is out of the table. */
static void tty_event(kn_progress *p, active_step *st, const kn_build_event *ev)
{
    switch (ev->kind) {
    case KN_BUILD_STEP_START:
    case KN_BUILD_STEP_OUTPUT:
    case KN_BUILD_TICK:
        break;
    case KN_BUILD_STEP_DONE:
        /* Finished steps collapse to one line. */
        tty_add_step_line(&p->finished, "=> ", st->header, ev->seconds, tty_width(p), false);
        break;
    case KN_BUILD_STEP_CANCELED:
        tty_add_step_line(&p->finished, "=> CANCELED ", st->header, ev->seconds, tty_width(p),
                          false);
        break;
    case KN_BUILD_STEP_ERROR:
        /* BuildKit's frame around the failing step's whole output. */
        tty_add_step_line(&p->finished, "=> ERROR ", st->header, ev->seconds, tty_width(p), false);
        kn_buf_addf(&p->finished, "------\n > %s:\n", st->header);
        kn_buf_add(&p->finished, st->output.data, st->output.len);
        if (st->output.len && st->output.data[st->output.len - 1] != '\n')
            kn_buf_addc(&p->finished, '\n');
        kn_buf_addf(&p->finished, "------\n#%d ERROR: %s\n", st->step,
                    ev->message ? ev->message : "failed");
        break;
    }
}

/* ---- the event sink ---- */

void kn_progress_event(void *ctx, const kn_build_event *ev)
{
    kn_progress *p = ctx;
    if (ev->kind == KN_BUILD_TICK) {
        if (p->mode == KN_PROGRESS_TTY)
            tty_render(p, false); /* the running steps' timers move */
        fflush(p->out);
        return;
    }
    active_step *st = find_step(p, ev->step);
    if (ev->kind == KN_BUILD_STEP_START) {
        if (st)
            return; /* started twice: the first start stands */
        st = add_step(p, ev);
    } else if (!st) {
        return; /* not started or already ended: nothing to show it with */
    } else if (ev->kind == KN_BUILD_STEP_OUTPUT &&
               (p->mode == KN_PROGRESS_TTY || p->mode == KN_PROGRESS_QUIET)) {
        kn_buf_add(&st->output, ev->data, ev->len);
    }
    switch (p->mode) {
    case KN_PROGRESS_PLAIN:
        plain_event(p, st, ev);
        break;
    case KN_PROGRESS_TTY:
        tty_event(p, st, ev);
        break;
    case KN_PROGRESS_JSON:
        json_event(p, st, ev);
        break;
    case KN_PROGRESS_QUIET:
        quiet_event(p, st, ev);
        break;
    }
    if (ev->kind != KN_BUILD_STEP_START && ev->kind != KN_BUILD_STEP_OUTPUT)
        drop_step(p, st);
    /* Output waits for the next frame; a step that starts or ends shows at
     * once, as other steps may stay silent for long. */
    if (p->mode == KN_PROGRESS_TTY)
        tty_render(p, ev->kind != KN_BUILD_STEP_OUTPUT);
    fflush(p->out);
}

/* Lines outside any step: written at once, or in the tty view's next
 * frame above the live part. */
static void add_line(kn_progress *p, const char *line)
{
    if (p->mode == KN_PROGRESS_TTY) {
        kn_buf_addf(&p->finished, "%s\n", line);
        tty_render(p, false);
    } else {
        fprintf(p->out, "%s\n", line);
    }
    fflush(p->out);
}

void kn_progress_warning(kn_progress *p, const char *msg)
{
    if (p->mode == KN_PROGRESS_JSON) {
        kn_autobuf kn_buf b = KN_BUF_INIT;
        kn_buf_adds(&b, "{\"event\":\"warning\",\"message\":");
        kn_json_write_cstr(&b, msg);
        kn_buf_addc(&b, '}');
        add_line(p, b.data);
    } else if (p->mode != KN_PROGRESS_QUIET) {
        add_line(p, msg);
    }
}

void kn_progress_image(kn_progress *p, const char *id, const char *const *names, size_t n_names)
{
    kn_autobuf kn_buf b = KN_BUF_INIT;
    if (p->mode == KN_PROGRESS_JSON) {
        kn_buf_adds(&b, "{\"event\":\"image\",\"id\":");
        kn_json_write_cstr(&b, id);
        kn_buf_adds(&b, ",\"names\":[");
        for (size_t i = 0; i < n_names; i++) {
            if (i)
                kn_buf_addc(&b, ',');
            kn_json_write_cstr(&b, names[i]);
        }
        kn_buf_adds(&b, "]}");
        add_line(p, b.data);
        return;
    }
    if (p->mode == KN_PROGRESS_QUIET)
        return;
    kn_buf_addf(&b, "writing image %s done", id);
    add_line(p, b.data);
    for (size_t i = 0; i < n_names; i++) {
        kn_buf_reset(&b);
        kn_buf_addf(&b, "naming to %s done", names[i]);
        add_line(p, b.data);
    }
}

void kn_progress_free(kn_progress *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->steps.len; i++) {
        active_step *st = &p->steps.items[i];
        if (p->mode == KN_PROGRESS_TTY) /* stopped without an end event: say so, not a timer */
            tty_add_step_line(&p->finished, "=> CANCELED ", st->header, now() - st->start,
                              tty_width(p), false);
        else if (p->mode == KN_PROGRESS_PLAIN)
            plain_flush_line(p, st);
        else if (p->mode == KN_PROGRESS_JSON)
            json_flush_line(p, st);
    }
    while (p->steps.len)
        drop_step(p, &p->steps.items[p->steps.len - 1]);
    if (p->mode == KN_PROGRESS_TTY)
        tty_render(p, true);
    fflush(p->out);
    kn_vec_free(&p->steps);
    kn_buf_free(&p->finished);
    free(p);
}
