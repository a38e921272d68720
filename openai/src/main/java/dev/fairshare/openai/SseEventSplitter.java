package dev.fairshare.openai;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts a server-sent-events byte stream into whole events (each with its blank-line terminator),
 * however the bytes arrive. Bytes of an event not yet complete are held until it is.
 */
public final class SseEventSplitter {

  private byte[] pending = new byte[512];
  private int length;
  private int scanFrom;

  /** Adds bytes; hands every event they complete to {@code onEvent}, in order. */
  public void feed(byte[] bytes, int offset, int count, Consumer<byte[]> onEvent) {
    ensure(length + count);
    System.arraycopy(bytes, offset, pending, length, count);
    length += count;
    int start = 0;
    int i = Math.max(scanFrom, 1);
    while (i < length) {
      int end = terminatorEnd(i);
      if (end > 0) {
        onEvent.accept(Arrays.copyOfRange(pending, start, end));
        start = end;
        i = end + 1;
      } else {
        i++;
      }
    }
    if (start > 0) {
      System.arraycopy(pending, start, pending, 0, length - start);
      length -= start;
    }
    scanFrom = Math.max(1, length - 3);
  }

  /** Bytes held of an event not yet complete. */
  public int pending() {
    return length;
  }

  /** Bytes of an unfinished event (at the end of the stream: a last event without terminator). */
  public byte[] drain() {
    byte[] rest = Arrays.copyOf(pending, length);
    length = 0;
    scanFrom = 0;
    return rest;
  }

  /**
   * If a blank line ends at {@code i} ("\n\n", "\r\r" or "\r\n\r\n"), the index after it; else 0.
   */
  private int terminatorEnd(int i) {
    byte b = pending[i];
    byte prev = pending[i - 1];
    if (b == '\n' && prev == '\n') {
      return i + 1;
    }
    if (b == '\n' && prev == '\r' && i >= 3 && pending[i - 2] == '\n' && pending[i - 3] == '\r') {
      return i + 1;
    }
    if (b == '\r' && prev == '\r' && (i + 1 >= length || pending[i + 1] != '\n')) {
      return i + 1;
    }
    return 0;
  }

  private void ensure(int capacity) {
    if (capacity > pending.length) {
      pending = Arrays.copyOf(pending, Math.max(capacity, pending.length * 2));
    }
  }
}
