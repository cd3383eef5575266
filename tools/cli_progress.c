/* Upload progress (a redrawn bar on a terminal, one line per 10 % in a log) and the upload's
 * figures once it is over. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_client.h"

/* Terminal progress bar refresh period. */
#define BAR_PERIOD_MS 100U

void cli_end_bar(struct cli *s)
{
	if (s->bar_drawn) {
		fputc('\n', s->progress_out);
		fflush(s->progress_out);
		s->bar_drawn = false;
	}
}

static void fmt_eta(uint32_t ms, char *buf, size_t size)
{
	uint32_t sec = (ms + 999) / 1000;
	if (sec >= 3600) {
		snprintf(buf, size, "%" PRIu32 ":%02" PRIu32 ":%02" PRIu32, sec / 3600,
			 sec / 60 % 60, sec % 60);
	} else {
		snprintf(buf, size, "%" PRIu32 ":%02" PRIu32, sec / 60, sec % 60);
	}
}

void cli_on_progress(void *user, const struct smpfota_upload_progress *p)
{
	struct cli *s = user;
	uint32_t now = cli_now_ms();
	uint32_t total = p->total ? p->total : 1;
	unsigned pct = (unsigned)((uint64_t)p->done * 100U / total);
	if (!s->have_progress && p->skips > 0) {
		/* The answer to the session-opening chunk sent us ahead: the target kept an
		 * upload of this file (a run interrupted before). */
		s->resumed = true;
		s->resumed_at = p->done;
		cli_end_bar(s);
		fprintf(s->progress_out,
			"upload: resuming at %" PRIu32 " of %" PRIu32 " bytes (%u %%)\n", p->done,
			p->total, pct);
		fflush(s->progress_out);
	}
	uint32_t prev_done = s->have_progress ? s->last.done : 0;
	s->have_progress = true;
	s->last = *p;
	/* The rate over what this run sent (the engine's counts a resumed part too); none in
	 * the first 100 ms, where it says nothing yet. */
	uint64_t us = cli_now_us() - s->up_start;
	uint32_t sent = p->done > s->resumed_at ? p->done - s->resumed_at : 0;
	double rate = us >= 100000 ? sent * 1e6 / (double)us : 0;
	char eta[32] = "-", rate_s[32] = "-";
	if (rate > 0) {
		fmt_eta((uint32_t)((p->total - p->done) * 1000.0 / rate), eta, sizeof(eta));
		snprintf(rate_s, sizeof(rate_s), "%.1f", rate / 1000.0);
	}
	if (s->bar) {
		if (p->done != p->total && s->bar_drawn && now - s->last_bar < BAR_PERIOD_MS) {
			return;
		}
		s->last_bar = now;
		enum { WIDTH = 30 };
		char bar[WIDTH + 1];
		size_t fill = (size_t)((uint64_t)p->done * WIDTH / total);
		for (size_t i = 0; i < WIDTH; i++) {
			bar[i] = i < fill ? '#' : '.';
		}
		bar[WIDTH] = '\0';
		fprintf(s->progress_out, "\r%3u%% [%s] %7.1f/%.1f kB %7s kB/s  ETA %s  w%u\033[K",
			pct, bar, p->done / 1000.0, p->total / 1000.0, rate_s, eta,
			(unsigned)p->window);
		fflush(s->progress_out);
		s->bar_drawn = true;
		return;
	}
	/* Not a terminal (a log, a pipe): one line per 10 %, so a log stays readable. */
	int decile = (int)(pct / 10);
	if (p->done < prev_done) {
		/* The target lost or dropped the session (it restarted): say so once, and
		 * count the deciles again from there. */
		fprintf(s->progress_out,
			"upload: the target continues from %" PRIu32 " bytes (%u%%)\n", p->done,
			pct);
		fflush(s->progress_out);
		s->last_decile = decile;
		return;
	}
	if (decile <= s->last_decile) {
		return;
	}
	s->last_decile = decile;
	fprintf(s->progress_out, "%s: %3u%% %" PRIu32 "/%" PRIu32 " bytes, %s kB/s, ETA %s\n",
		s->progress_label ? s->progress_label : "upload", pct, p->done, p->total, rate_s,
		eta);
	fflush(s->progress_out);
}

void cli_progress_begin(struct cli *s)
{
	s->progress_out = s->o.json ? stderr : stdout;
	s->bar = isatty(fileno(s->progress_out)) == 1;
	s->bar_drawn = false;
	s->last_decile = -1;
	s->have_progress = false;
	s->resumed = false;
	s->resumed_at = 0;
	memset(&s->last, 0, sizeof(s->last));
	s->up_start = cli_now_us();
	s->up_end = 0;
	s->tx_bytes_start = s->link->stats.tx_bytes;
	s->tx_frames_start = s->link->stats.tx_frames;
	s->up_summarised = false;
}

/* The chunk size the upload really used: --chunk as the engine applies it (whole 4-byte
 * words, the opening chunk at least the 32-byte header), or the largest the target's frames
 * carry. *lowered: --chunk asked for more than that. */
static uint32_t real_chunk(const struct cli *s, bool *lowered)
{
	uint32_t asked = s->chunk_asked;
	*lowered = false;
	if (asked == 0) {
		return s->last.chunk;
	}
	if (asked > 4) {
		asked -= asked % 4;
	}
	if (s->last.chunk < asked && s->file.size - s->resumed_at > asked) {
		*lowered = true;
		return s->last.chunk;
	}
	return asked < s->last.chunk ? asked : s->last.chunk;
}

void cli_upload_summary(struct cli *s, struct json_writer *w, bool with_match)
{
	uint64_t us = (s->up_end ? s->up_end : cli_now_us()) - s->up_start;
	uint32_t ms = (uint32_t)((us + 500) / 1000);
	double sec = us / 1e6;
	uint32_t bytes = s->file.size - s->resumed_at; /* what this run had to send */
	double kBps = us ? bytes * 1000.0 / (double)us : 0;
	uint64_t sent = s->link->stats.tx_bytes - s->tx_bytes_start;
	uint32_t frames = s->link->stats.tx_frames - s->tx_frames_start;
	bool lowered;
	uint32_t chunk = real_chunk(s, &lowered);
	if (w) {
		json_key(w, "file");
		json_string(w, s->file.path);
		json_key(w, "bytes");
		json_uint(w, s->file.size);
		if (s->resumed) {
			json_key(w, "resumed_at");
			json_uint(w, s->resumed_at);
		}
		json_key(w, "uploaded_bytes");
		json_uint(w, bytes);
		json_key(w, "ms");
		json_uint(w, ms);
		json_key(w, "kBps");
		json_uint(w, (unsigned long long)(kBps + 0.5));
		json_key(w, "window");
		json_uint(w, s->last.window);
		json_key(w, "chunk");
		json_uint(w, chunk);
		json_key(w, "retransmits");
		json_uint(w, s->last.retransmits);
		json_key(w, "rewinds");
		json_uint(w, s->last.rewinds);
		json_key(w, "skips");
		json_uint(w, s->last.skips);
		json_key(w, "timeouts");
		json_uint(w, s->last.timeouts);
		json_key(w, "srtt_ms");
		json_uint(w, s->last.srtt_ms);
		json_key(w, "sent_bytes");
		json_uint(w, sent);
		json_key(w, "sent_frames");
		json_uint(w, frames);
		if (with_match) {
			json_key(w, "match");
			json_bool(w, s->match);
		}
		return;
	}
	cli_end_bar(s);
	if (lowered) {
		fprintf(s->progress_out,
			"upload: --chunk %u lowered to %" PRIu32 " bytes, the most one "
			"request to this target carries\n",
			(unsigned)s->chunk_asked, chunk);
	}
	fprintf(s->progress_out,
		"upload: %" PRIu32 " bytes in %.3f s, %.1f kB/s, window %u, chunk %" PRIu32
		", %" PRIu32 " retransmits, %" PRIu32 " rewinds (sent %" PRIu64 " bytes in %" PRIu32
		" frames)\n",
		bytes, sec, kBps, (unsigned)s->last.window, chunk, s->last.retransmits,
		s->last.rewinds, sent, frames);
	if (s->resumed) {
		fprintf(s->progress_out,
			"upload: resumed at %" PRIu32 " of %" PRIu32 " bytes: the "
			"target had the rest from an earlier run\n",
			s->resumed_at, s->file.size);
	}
	if (with_match && !s->match) {
		fprintf(s->progress_out,
			"upload: note: the target did not confirm the SHA-256 of the "
			"upload (no image check, or a truncated sha in a small buffer)\n");
	}
	fflush(s->progress_out);
}
