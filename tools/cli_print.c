/* How the client commands print a successful answer: mcumgr's text layouts, or JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_client.h"

void cli_print_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%02x", p[i]);
	}
}

static void print_images(struct cli *s, const struct smpfota_img_state_rsp *r)
{
	char ver[64];
	if (r->images_truncated) {
		fprintf(stderr,
			"smpfota: %s: the target listed more than %d images; showing the "
			"first %d\n",
			s->what, SMPFOTA_SMP_MAX_IMAGES, SMPFOTA_SMP_MAX_IMAGES);
	}
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "images");
		json_begin_array(&w);
		for (size_t i = 0; i < r->images_count; i++) {
			const struct smpfota_img_slot_state *e = &r->images[i];
			json_begin_object(&w);
			json_key(&w, "image");
			json_uint(&w, e->has_image ? e->image : 0);
			json_key(&w, "slot");
			json_uint(&w, e->slot);
			json_key(&w, "version");
			smpfota_cli_version_from_wire(e->version.ptr, e->version.len, ver,
						      sizeof(ver));
			json_string(&w, ver);
			json_key(&w, "hash");
			if (e->has_hash) {
				json_hex(&w, e->hash.ptr, e->hash.len);
			} else {
				json_null(&w);
			}
			json_key(&w, "bootable");
			json_bool(&w, e->bootable);
			json_key(&w, "pending");
			json_bool(&w, e->pending);
			json_key(&w, "confirmed");
			json_bool(&w, e->confirmed);
			json_key(&w, "active");
			json_bool(&w, e->active);
			json_key(&w, "permanent");
			json_bool(&w, e->permanent);
			json_end_object(&w);
		}
		json_end_array(&w);
		if (r->has_split_status) {
			json_key(&w, "splitStatus");
			json_int(&w, r->split_status);
		}
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	/* The layout of mcumgr's `image list`, which scripts and eyes are used to. */
	printf("Images:\n");
	for (size_t i = 0; i < r->images_count; i++) {
		const struct smpfota_img_slot_state *e = &r->images[i];
		printf(" image=%" PRIu32 " slot=%" PRIu32 "\n", e->has_image ? e->image : 0,
		       e->slot);
		smpfota_cli_version_from_wire(e->version.ptr, e->version.len, ver, sizeof(ver));
		printf("    version: %s\n", ver);
		printf("    bootable: %s\n", e->bootable ? "true" : "false");
		printf("    flags:");
		const char *names[] = {"active", "confirmed", "pending", "permanent"};
		const bool on[] = {e->active, e->confirmed, e->pending, e->permanent};
		for (size_t k = 0; k < 4; k++) {
			if (on[k]) {
				printf(" %s", names[k]);
			}
		}
		printf("\n    hash: ");
		if (e->has_hash) {
			cli_print_hex(stdout, e->hash.ptr, e->hash.len);
		} else {
			printf("Unavailable");
		}
		printf("\n");
	}
	int32_t split = r->has_split_status ? r->split_status : 0;
	printf("Split status: %s (%" PRId32 ")\n",
	       split == 0   ? "N/A"
	       : split == 1 ? "matching"
	       : split == 2 ? "not matching"
			    : "unknown",
	       split);
}

static void print_slot_info(struct cli *s, const struct smpfota_img_slot_info_rsp *r)
{
	struct json_writer w;
	if (s->o.json) {
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "images");
		json_begin_array(&w);
	} else {
		printf("Images:\n");
	}
	for (size_t i = 0; i < r->images_count; i++) {
		const struct smpfota_img_slot_info_image *e = &r->images[i];
		if (s->o.json) {
			json_begin_object(&w);
			json_key(&w, "image");
			json_uint(&w, e->image);
			json_key(&w, "slots");
			json_begin_array(&w);
		} else {
			printf(" image=%" PRIu32 "\n", e->image);
		}
		for (size_t k = 0; k < e->slots_count; k++) {
			const struct smpfota_img_slot_info_slot *sl = &e->slots[k];
			if (s->o.json) {
				json_begin_object(&w);
				json_key(&w, "slot");
				json_uint(&w, sl->slot);
				json_key(&w, "size");
				json_uint(&w, sl->size);
				if (sl->has_upload_image_id) {
					json_key(&w, "upload_image_id");
					json_uint(&w, sl->upload_image_id);
				}
				json_end_object(&w);
			} else {
				printf("    slot=%" PRIu32 " size: %" PRIu32, sl->slot, sl->size);
				if (sl->has_upload_image_id) {
					printf(" upload_image_id: %" PRIu32, sl->upload_image_id);
				}
				printf("\n");
			}
		}
		if (s->o.json) {
			json_end_array(&w);
			if (e->has_max_image_size) {
				json_key(&w, "max_image_size");
				json_uint(&w, e->max_image_size);
			}
			json_end_object(&w);
		} else if (e->has_max_image_size) {
			printf("    max_image_size: %" PRIu32 "\n", e->max_image_size);
		}
	}
	if (s->o.json) {
		json_end_array(&w);
		json_end_object(&w);
		json_finish(&w);
	}
}

void cli_on_bootloader(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	(void)msg;
	const struct smpfota_os_bootloader_rsp *b = &rsp->bootloader;
	if (b->has_bootloader) {
		size_t n = b->bootloader.len < sizeof(s->bl_name) - 1 ? b->bootloader.len
								      : sizeof(s->bl_name) - 1;
		memcpy(s->bl_name, b->bootloader.ptr, n);
		s->bl_name[n] = '\0';
	}
	if (b->has_mode) {
		s->bl_has_mode = true;
		s->bl_mode = b->mode;
	}
	if (b->has_no_downgrade) {
		s->bl_no_downgrade = b->no_downgrade;
	}
}

void cli_print_bootloader(struct cli *s)
{
	const char *mode = s->bl_has_mode ? smpfota_mcuboot_mode_name(s->bl_mode) : NULL;
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "bootloader");
		json_string(&w, s->bl_name);
		json_key(&w, "mode");
		if (s->bl_has_mode) {
			json_int(&w, s->bl_mode);
		} else {
			json_null(&w);
		}
		json_key(&w, "mode_name");
		if (mode != NULL) {
			json_string(&w, mode);
		} else {
			json_null(&w);
		}
		json_key(&w, "no_downgrade");
		json_bool(&w, s->bl_no_downgrade);
		json_end_object(&w);
		json_finish(&w);
		return;
	}
	printf("bootloader: %s\n", s->bl_name);
	if (s->bl_has_mode) {
		printf("mode: %" PRId32 " (%s)\n", s->bl_mode, mode != NULL ? mode : "unknown");
	} else {
		printf("mode: not reported\n");
	}
	printf("no-downgrade: %s\n", s->bl_no_downgrade ? "true" : "false");
}

static void json_one(const char *key, const char *str, size_t len)
{
	struct json_writer w;
	json_init(&w, stdout, 2);
	json_begin_object(&w);
	if (key) {
		json_key(&w, key);
		json_string_n(&w, str, len);
	}
	json_end_object(&w);
	json_finish(&w);
}

void cli_on_ok_print(struct cli *s, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	switch (msg) {
	case SMPFOTA_MSG_IMG_STATE_READ:
	case SMPFOTA_MSG_IMG_STATE_WRITE:
		print_images(s, &rsp->state);
		break;
	case SMPFOTA_MSG_OS_ECHO:
		if (s->o.json) {
			json_one("r", rsp->echo.r.ptr, rsp->echo.r.len);
		} else {
			printf("%.*s\n", (int)rsp->echo.r.len, rsp->echo.r.ptr);
		}
		break;
	case SMPFOTA_MSG_OS_INFO:
		if (s->o.json) {
			json_one("output", rsp->info.output.ptr, rsp->info.output.len);
		} else {
			printf("%.*s\n", (int)rsp->info.output.len, rsp->info.output.ptr);
		}
		break;
	case SMPFOTA_MSG_IMG_SLOT_INFO:
		print_slot_info(s, &rsp->slot_info);
		break;
	case SMPFOTA_MSG_OS_PARAMS:
		s->params_known = true;
		s->buf_size = rsp->params.buf_size;
		s->buf_count = rsp->params.buf_count;
		break;
	default:
		if (s->o.json) {
			json_one(NULL, NULL, 0);
		} else {
			printf("Done\n");
		}
		break;
	}
}

void cli_print_params(struct cli *s)
{
	if (s->o.json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "buf_size");
		json_uint(&w, s->buf_size);
		json_key(&w, "buf_count");
		json_uint(&w, s->buf_count);
		json_end_object(&w);
		json_finish(&w);
	} else {
		printf("buf_size: %" PRIu32 "\nbuf_count: %" PRIu32 "\n", s->buf_size,
		       s->buf_count);
	}
}
