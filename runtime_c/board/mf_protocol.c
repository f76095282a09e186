/* mcuforge device protocol, firmware side (framing, CRC, command dispatch).
 * The wire format and the retry/reset rules are described in mf_protocol.h. */
#include "mf_protocol.h"

#include <stddef.h>
#include <string.h>

#include "mf_board.h"
#include "mf_counter.h"
#include "mf_uart_rx.h"

#define MF_PROTO_CRC_BYTES 4u
/* COBS adds one code byte per 254 data bytes, plus one */
#define MF_PROTO_RX_CAP \
    (MF_PROTO_MAX_PAYLOAD + MF_PROTO_CRC_BYTES + (MF_PROTO_MAX_PAYLOAD / 254u) + 2u)
#define MF_PROTO_HEADER 2u /* type, seq */

static uint8_t g_rx[MF_PROTO_RX_CAP];
static uint32_t g_rx_len;
static int g_rx_overflow;

/* The last response (without CRC) doubles as the replay cache for retried requests. */
static uint8_t g_tx[MF_PROTO_MAX_PAYLOAD + MF_PROTO_CRC_BYTES];
static uint32_t g_tx_len;
static int g_have_last;
static uint8_t g_last_seq;
static uint32_t g_last_crc;

static uint32_t g_input_fill[MF_PROTO_MAX_TENSORS];
static int g_outputs_valid;

/* ---- CRC-32 (IEEE 802.3, as zlib.crc32): nibble table, 64 bytes of flash ---------------- */

uint32_t mf_proto_crc32(const uint8_t *data, uint32_t len)
{
    static const uint32_t table[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
        0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
        0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu,
    };
    uint32_t crc = 0xffffffffu;
    for (uint32_t i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ table[crc & 0xfu];
        crc = (crc >> 4) ^ table[crc & 0xfu];
    }
    return crc ^ 0xffffffffu;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- framing -------------------------------------------------------------------------- */

/* Sends 0x00, COBS(buf[0..len)), 0x00. Encodes straight to the UART: each block's code byte
 * is the distance to the next zero (or 255 for a full 254-byte block), found by scanning. */
static void send_cobs(const uint8_t *buf, uint32_t len)
{
    mf_uart_putc(0);
    uint32_t i = 0;
    for (;;) {
        uint32_t run = 0;
        while (i + run < len && buf[i + run] != 0u && run < 254u) {
            run++;
        }
        int full = (run == 254u);
        mf_uart_putc((char)(run + 1u));
        for (uint32_t k = 0; k < run; k++) {
            mf_uart_putc((char)buf[i + k]);
        }
        i += run;
        if (!full) {
            if (i >= len) {
                break;       /* the implicit trailing zero of the last block is dropped */
            }
            i++;             /* skip the zero this block's code stands for */
        } else if (i >= len) {
            break;
        }
    }
    mf_uart_putc(0);
}

/* Decodes in place; returns the decoded length or -1 on a malformed frame. */
static int32_t cobs_decode(uint8_t *buf, uint32_t len)
{
    uint32_t in = 0;
    uint32_t out = 0;
    while (in < len) {
        uint32_t code = buf[in++];
        if (code == 0u || in + code - 1u > len) {
            return -1;
        }
        for (uint32_t k = 1; k < code; k++) {
            buf[out++] = buf[in++];
        }
        if (code != 255u && in < len) {
            buf[out++] = 0u;
        }
    }
    return (int32_t)out;
}

static void send_response(void)
{
    put_u32(&g_tx[g_tx_len], mf_proto_crc32(g_tx, g_tx_len));
    send_cobs(g_tx, g_tx_len + MF_PROTO_CRC_BYTES);
}

/* A BUSY frame is not cached: a retry of a long command gets the final answer. */
static void send_busy(uint8_t seq)
{
    uint8_t frame[MF_PROTO_HEADER + MF_PROTO_CRC_BYTES] = {MF_PROTO_RSP_BUSY, seq};
    put_u32(&frame[MF_PROTO_HEADER], mf_proto_crc32(frame, MF_PROTO_HEADER));
    send_cobs(frame, sizeof frame);
}

/* ---- commands ------------------------------------------------------------------------- */

static void reply_error(uint8_t seq, uint8_t code, const char *detail)
{
    g_tx[0] = MF_PROTO_RSP_ERROR;
    g_tx[1] = seq;
    g_tx[2] = code;
    uint32_t n = 3;
    while (*detail != '\0' && n < MF_PROTO_MAX_PAYLOAD) {
        g_tx[n++] = (uint8_t)*detail++;
    }
    g_tx_len = n;
}

static void begin_ok(uint8_t cmd, uint8_t seq)
{
    g_tx[0] = (uint8_t)(cmd | MF_PROTO_RSP_OK);
    g_tx[1] = seq;
    g_tx_len = MF_PROTO_HEADER;
}

static void cmd_info(const mf_proto_model_t *m, uint8_t seq)
{
    begin_ok(MF_PROTO_CMD_INFO, seq);
    uint8_t *p = &g_tx[g_tx_len];
    p[0] = (uint8_t)MF_PROTO_VERSION;
    p[1] = m->dtype;
    p[2] = m->num_inputs;
    p[3] = m->num_outputs;
    put_u32(&p[4], m->arena_bytes);
    put_u32(&p[8], MF_PROTO_MAX_PAYLOAD);
    put_u32(&p[12], mf_proto_extension_features());
    p[16] = mf_counter_kind();
    memcpy(&p[17], m->model_hash, MF_PROTO_HASH_BYTES);
    uint32_t n = 17u + MF_PROTO_HASH_BYTES;
    for (int i = 0; i < m->num_inputs; i++, n += 4u) {
        put_u32(&p[n], m->input_bytes(i));
    }
    for (int i = 0; i < m->num_outputs; i++, n += 4u) {
        put_u32(&p[n], m->output_bytes(i));
    }
    uint32_t id_len = (uint32_t)strlen(m->build_id);
    if (id_len > 63u) {
        id_len = 63u;
    }
    p[n++] = (uint8_t)id_len;
    memcpy(&p[n], m->build_id, id_len);
    g_tx_len += n + id_len;
}

static void cmd_write_input(const mf_proto_model_t *m, uint8_t seq, const uint8_t *body,
                            uint32_t len)
{
    if (len < 5u) {
        reply_error(seq, MF_PROTO_E_LENGTH, "write_input needs index and offset");
        return;
    }
    uint8_t index = body[0];
    uint32_t offset = get_u32(&body[1]);
    uint32_t count = len - 5u;
    if (index >= m->num_inputs) {
        reply_error(seq, MF_PROTO_E_INDEX, "no such input");
        return;
    }
    /* offset 0 restarts the input; anything else must continue where the last chunk ended,
     * so a chunk lost to a device reset is detected rather than leaving a hole */
    if (offset == 0u) {
        g_input_fill[index] = 0u;
    }
    if (offset != g_input_fill[index]) {
        reply_error(seq, MF_PROTO_E_ORDER, "input chunk out of order");
        return;
    }
    if (offset + count > m->input_bytes(index)) {
        reply_error(seq, MF_PROTO_E_RANGE, "input chunk past the end");
        return;
    }
    memcpy(m->input(index) + offset, &body[5], count);
    g_input_fill[index] = offset + count;
    g_outputs_valid = 0;   /* inputs and outputs share the arena */
    begin_ok(MF_PROTO_CMD_WRITE_INPUT, seq);
    put_u32(&g_tx[g_tx_len], g_input_fill[index]);
    g_tx_len += 4u;
}

static void cmd_run(const mf_proto_model_t *m, uint8_t seq)
{
    for (int i = 0; i < m->num_inputs; i++) {
        if (g_input_fill[i] != m->input_bytes(i)) {
            reply_error(seq, MF_PROTO_E_INCOMPLETE, "inputs not fully written");
            return;
        }
    }
    send_busy(seq);
    uint64_t start = mf_counter_read();
    mf_bench_start();   /* markers for the QEMU instruction-counting plugin */
    int status = m->run();
    mf_bench_stop();
    uint64_t stop = mf_counter_read();
    uint64_t elapsed = mf_counter_elapsed(start, stop);
    /* the model may have overwritten its inputs in place: the next run needs new ones */
    for (int i = 0; i < m->num_inputs; i++) {
        g_input_fill[i] = 0u;
    }
    g_outputs_valid = (status == 0);
    begin_ok(MF_PROTO_CMD_RUN, seq);
    uint8_t *p = &g_tx[g_tx_len];
    put_u32(&p[0], (uint32_t)status);
    p[4] = mf_counter_kind();
    p[5] = p[6] = p[7] = 0u;
    put_u32(&p[8], (uint32_t)elapsed);
    put_u32(&p[12], (uint32_t)(elapsed >> 32));
    put_u32(&p[16], (uint32_t)mf_stack_used());
    g_tx_len += 20u;
}

static void cmd_read_output(const mf_proto_model_t *m, uint8_t seq, const uint8_t *body,
                            uint32_t len)
{
    if (len != 7u) {
        reply_error(seq, MF_PROTO_E_LENGTH, "read_output needs index, offset, length");
        return;
    }
    uint8_t index = body[0];
    uint32_t offset = get_u32(&body[1]);
    uint32_t count = (uint32_t)body[5] | ((uint32_t)body[6] << 8);
    if (index >= m->num_outputs) {
        reply_error(seq, MF_PROTO_E_INDEX, "no such output");
        return;
    }
    if (!g_outputs_valid) {
        reply_error(seq, MF_PROTO_E_NO_OUTPUT, "no successful run since the inputs changed");
        return;
    }
    if (count > MF_PROTO_MAX_PAYLOAD - MF_PROTO_HEADER || offset > m->output_bytes(index) ||
        count > m->output_bytes(index) - offset) {
        reply_error(seq, MF_PROTO_E_RANGE, "output read outside the tensor");
        return;
    }
    begin_ok(MF_PROTO_CMD_READ_OUTPUT, seq);
    memcpy(&g_tx[g_tx_len], m->output(index) + offset, count);
    g_tx_len += count;
}

static void cmd_extension(uint8_t cmd, uint8_t seq, const uint8_t *body, uint32_t len)
{
    send_busy(seq);
    uint32_t out_len = 0;
    int err = mf_proto_extension(cmd, body, len, &g_tx[MF_PROTO_HEADER],
                                 MF_PROTO_MAX_PAYLOAD - MF_PROTO_HEADER, &out_len);
    if (err != 0) {
        reply_error(seq, (uint8_t)err, "extension command failed");
        return;
    }
    begin_ok(cmd, seq);
    g_tx_len += out_len;
}

static void dispatch(const mf_proto_model_t *m, const uint8_t *p, uint32_t len)
{
    uint8_t cmd = p[0];
    uint8_t seq = p[1];
    const uint8_t *body = &p[MF_PROTO_HEADER];
    uint32_t body_len = len - MF_PROTO_HEADER;
    if (cmd == MF_PROTO_CMD_INFO) {
        cmd_info(m, seq);
    } else if (cmd == MF_PROTO_CMD_WRITE_INPUT) {
        cmd_write_input(m, seq, body, body_len);
    } else if (cmd == MF_PROTO_CMD_RUN) {
        cmd_run(m, seq);
    } else if (cmd == MF_PROTO_CMD_READ_OUTPUT) {
        cmd_read_output(m, seq, body, body_len);
    } else if (cmd >= MF_PROTO_CMD_EXT_FIRST && cmd <= MF_PROTO_CMD_EXT_LAST) {
        cmd_extension(cmd, seq, body, body_len);
    } else {
        reply_error(seq, MF_PROTO_E_COMMAND, "unknown command");
    }
}

/* One complete frame body (between zeros) is in g_rx. */
static void on_frame(const mf_proto_model_t *m)
{
    int32_t n = cobs_decode(g_rx, g_rx_len);
    if (n < (int32_t)(MF_PROTO_HEADER + MF_PROTO_CRC_BYTES)) {
        return;   /* garbage or a truncated frame: the host times out and retries */
    }
    uint32_t len = (uint32_t)n - MF_PROTO_CRC_BYTES;
    uint32_t crc = get_u32(&g_rx[len]);
    if (crc != mf_proto_crc32(g_rx, len)) {
        return;
    }
    if (g_have_last && g_rx[1] == g_last_seq && crc == g_last_crc) {
        send_response();   /* a retry: answer again, do not execute again */
        return;
    }
    dispatch(m, g_rx, len);
    g_have_last = 1;
    g_last_seq = g_rx[1];
    g_last_crc = crc;
    send_response();
}

void mf_proto_serve(const mf_proto_model_t *model)
{
    for (;;) {
        int c = mf_uart_getc();
        if (c != 0) {
            if (g_rx_len < MF_PROTO_RX_CAP) {
                g_rx[g_rx_len++] = (uint8_t)c;
            } else {
                g_rx_overflow = 1;   /* longer than any valid frame: drop it at the next 0 */
            }
            continue;
        }
        if (g_rx_len > 0u && !g_rx_overflow) {
            on_frame(model);
        }
        g_rx_len = 0u;
        g_rx_overflow = 0;
    }
}

/* ---- extension defaults --------------------------------------------------------------- */

__attribute__((weak)) int mf_proto_extension(uint8_t cmd, const uint8_t *body, uint32_t len,
                                             uint8_t *out, uint32_t cap, uint32_t *out_len)
{
    (void)cmd;
    (void)body;
    (void)len;
    (void)out;
    (void)cap;
    *out_len = 0u;
    return (int)MF_PROTO_E_UNSUPPORTED;
}

__attribute__((weak)) uint32_t mf_proto_extension_features(void)
{
    return 0u;
}
