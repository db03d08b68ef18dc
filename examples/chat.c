/* A minimal chat loop through sinkstream's C API: each line read from stdin
 * becomes a user turn in the model's chat format, and the reply streams to
 * stdout from a token callback, on one endless stream (old turns leave the
 * window; memory stays constant).
 *
 *   cc chat.c $(pkg-config --cflags --libs sinkstream) -o chat-c
 *   ./chat-c model.gguf [tokens per reply] */
#include <sinkstream/sinkstream.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool on_token(int32_t token, const char *text, int32_t len, void *user) {
  (void)token;
  (void)user;
  fwrite(text, 1, (size_t)len, stdout);
  fflush(stdout);
  return true; /* false would stop the reply after this token */
}

/* Feeds the user's message as the model's chat format writes it. */
static int feed_turn(ss_model *model, ss_stream *stream, const char *message, bool first) {
  const char *roles[] = {"user"};
  const char *contents[] = {message};
  int32_t n = ss_chat_apply(model, NULL, roles, contents, 1, true, NULL, 0);
  if (n < 0) return -1;
  char *prompt = malloc((size_t)n + 1);
  ss_chat_apply(model, NULL, roles, contents, 1, true, prompt, n + 1);
  const bool bos = first && ss_chat_needs_bos(model, NULL);
  const int32_t count = ss_tokenize(model, prompt, n, bos, NULL, 0);
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)(count > 0 ? count : 1));
  ss_tokenize(model, prompt, n, bos, ids, count);
  const ss_status s = count > 0 ? ss_stream_feed(stream, ids, count) : SS_OK;
  free(ids);
  free(prompt);
  return s == SS_OK ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [tokens per reply]\n", argv[0]);
    return 2;
  }
  const int32_t max_tokens = argc > 2 ? atoi(argv[2]) : 64;
  printf("sinkstream %s\n", ss_version());
  ss_model_params mp = ss_model_default_params();
  ss_model *model = NULL;
  if (ss_model_load(argv[1], &mp, &model) != SS_OK) {
    fprintf(stderr, "error: %s\n", ss_last_error());
    return 1;
  }
  ss_stream_params sp = ss_stream_default_params(); /* 4 sinks, the model's context, f16 cache */
  ss_stream *stream = NULL;
  if (ss_stream_create(model, &sp, &stream) != SS_OK) {
    fprintf(stderr, "error: %s\n", ss_last_error());
    ss_model_free(model);
    return 1;
  }
  ss_sampler_params sampling = ss_sampler_default_params();
  sampling.temperature = 0; /* greedy: the same reply every run */
  char line[4096];
  int status = 0;
  for (bool first = true; printf("> "), fflush(stdout), fgets(line, sizeof line, stdin); first = false) {
    line[strcspn(line, "\r\n")] = '\0';
    int32_t generated = 0;
    if (feed_turn(model, stream, line, first) != 0 ||
        ss_stream_generate(stream, &sampling, max_tokens, on_token, NULL, &generated) != SS_OK) {
      fprintf(stderr, "error: %s\n", ss_last_error());
      status = 1;
      break;
    }
    ss_stream_stats st;
    ss_stream_get_stats(stream, &st);
    printf("\n[%d tokens; cache %u/%u slots, %llu evicted]\n", generated, st.slots_used, st.capacity,
           (unsigned long long)st.evicted);
  }
  ss_stream_free(stream);
  ss_model_free(model);
  return status;
}
