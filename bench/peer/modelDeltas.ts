/**
 * The text deltas of an OpenAI chat-completions stream (server-sent events), read as it arrives:
 * the peer's server and the relay floor split the paced model's replies the same way.
 * `feed` takes the next piece of the reply's text and returns the deltas it completed.
 */
export function chatDeltaSplitter(): (text: string) => string[] {
  let buffered = "";
  return (text) => {
    buffered += text;
    const deltas: string[] = [];
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const content = (JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content;
      if (content) deltas.push(content);
    }
    return deltas;
  };
}
