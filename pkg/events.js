// Reading server-sent events from a fetch Response (EventSource cannot send an
// Authorization header): calls `onEvent(event, data)` for each event whose data is
// JSON, until the stream ends.
export async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      let parsed;
      try {
        parsed = JSON.parse(data);
      } catch {
        continue; // keep-alive comments and malformed events
      }
      onEvent(event, parsed);
    }
  }
}
