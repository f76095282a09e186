/* mcuforge device protocol: framed requests and responses over the board UART.
 *
 * Wire format (both directions): 0x00, COBS(payload || CRC-32(payload) little-endian), 0x00.
 * COBS removes every 0x00 from the frame body, so 0x00 only ever delimits frames and a
 * receiver that lost sync re-aligns at the next zero. Plain text (log lines) may appear
 * between frames; it never contains 0x00, so the host can tell the two apart.
 *
 * Payload: [type u8][seq u8][body ...]. Requests carry a command type; a response echoes
 * `seq` and has type `command | MF_PROTO_RSP_OK`, MF_PROTO_RSP_BUSY (long command accepted,
 * result follows) or MF_PROTO_RSP_ERROR (body: error code u8, then ASCII detail).
 * Multi-byte integers are little-endian. The host's side is toolchain/device/protocol.py;
 * the two must agree field by field.
 *
 * Retries are safe: a request whose (seq, CRC) equals the previous one is answered from the
 * cached response without being executed again (a RUN may overwrite its inputs in place, so
 * running twice would be wrong). Tensor transfers are stateful and checked: inputs must be
 * written in order from offset 0, RUN refuses incomplete inputs and READ_OUTPUT refuses
 * outputs that no successful RUN produced, so a device that reset mid-transfer answers with
 * an error instead of a stale or partial result. */
#ifndef MF_PROTOCOL_H
#define MF_PROTOCOL_H

#include <stdint.h>

#define MF_PROTO_VERSION 1u

/* Largest decoded payload (type + seq + body), excluding the CRC. Sets the RAM cost:
 * about 2 x this for the receive and response buffers. */
#ifndef MF_PROTO_MAX_PAYLOAD
#define MF_PROTO_MAX_PAYLOAD 512u
#endif
#define MF_PROTO_MAX_TENSORS 16u
#define MF_PROTO_HASH_BYTES 8u

/* requests */
#define MF_PROTO_CMD_INFO         0x01u
#define MF_PROTO_CMD_WRITE_INPUT  0x02u /* u8 index, u32 offset, bytes */
#define MF_PROTO_CMD_RUN          0x03u
#define MF_PROTO_CMD_READ_OUTPUT  0x04u /* u8 index, u32 offset, u16 length */
/* 0x10..0x3f: extension commands, answered by mf_proto_extension() (training issue) */
#define MF_PROTO_CMD_TRAIN_STEP   0x10u
#define MF_PROTO_CMD_READ_WEIGHTS 0x11u
#define MF_PROTO_CMD_WRITE_WEIGHTS 0x12u
#define MF_PROTO_CMD_EXT_FIRST    0x10u
#define MF_PROTO_CMD_EXT_LAST     0x3fu

/* response types */
#define MF_PROTO_RSP_OK    0x80u /* OR-ed with the command */
#define MF_PROTO_RSP_BUSY  0x7eu
#define MF_PROTO_RSP_ERROR 0x7fu

/* error codes (first body byte of an MF_PROTO_RSP_ERROR) */
#define MF_PROTO_E_LENGTH      1u /* body too short or too long for the command */
#define MF_PROTO_E_COMMAND     2u /* unknown command */
#define MF_PROTO_E_INDEX       3u /* no such input/output */
#define MF_PROTO_E_ORDER       4u /* input chunk not at the next offset (device reset?) */
#define MF_PROTO_E_INCOMPLETE  5u /* RUN before every input was written */
#define MF_PROTO_E_NO_OUTPUT   6u /* READ_OUTPUT without a successful RUN since */
#define MF_PROTO_E_UNSUPPORTED 7u /* extension command this firmware does not have */
#define MF_PROTO_E_RANGE       8u /* offset/length outside the tensor */

#define MF_PROTO_DTYPE_F32 1u
#define MF_PROTO_DTYPE_F16 2u

/* feature bits in INFO (extensions say what they add) */
#define MF_PROTO_FEATURE_TRAIN_STEP 0x1u
#define MF_PROTO_FEATURE_WEIGHTS    0x2u

/* What the protocol needs from the model: filled by the generated firmware main, so this
 * file does not depend on one model's header. Sizes are in bytes. */
typedef struct {
    uint8_t num_inputs;
    uint8_t num_outputs;
    uint8_t dtype;                                  /* MF_PROTO_DTYPE_* */
    uint32_t arena_bytes;
    const uint8_t *model_hash;                      /* MF_PROTO_HASH_BYTES bytes */
    const char *build_id;                           /* NUL-terminated, < 64 chars */
    uint8_t *(*input)(int index);
    uint32_t (*input_bytes)(int index);
    const uint8_t *(*output)(int index);
    uint32_t (*output_bytes)(int index);
    int (*run)(void);                               /* 0 = ok, else the model's status */
} mf_proto_model_t;

/* Serves requests forever (blocking reads from the UART). */
void mf_proto_serve(const mf_proto_model_t *model) __attribute__((noreturn));

/* Extension point: commands MF_PROTO_CMD_EXT_FIRST..LAST. Weak defaults answer
 * MF_PROTO_E_UNSUPPORTED and advertise no features; a firmware that links a strong
 * definition (the training step) takes them over. Returns 0 and fills out[0..*out_len)
 * on success, else an MF_PROTO_E_* code. A BUSY frame has been sent before the call. */
int mf_proto_extension(uint8_t cmd, const uint8_t *body, uint32_t len, uint8_t *out,
                       uint32_t cap, uint32_t *out_len);
uint32_t mf_proto_extension_features(void);

/* Exposed for host tests of the C side. */
uint32_t mf_proto_crc32(const uint8_t *data, uint32_t len);

#endif /* MF_PROTOCOL_H */
