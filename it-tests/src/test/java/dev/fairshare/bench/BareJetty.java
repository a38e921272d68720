package dev.fairshare.bench;

import org.eclipse.jetty.server.Server;

/**
 * The baseline of the wrk harness ({@code it-tests/bench/wrk-overhead.sh}): Jetty 12 and the mock
 * model servlet, without FairShare, on the port given, until the process is stopped.
 */
public final class BareJetty {

  private BareJetty() {}

  public static void main(String[] args) throws Exception {
    Server server = OverheadBenchmark.bareJetty(Integer.parseInt(args[0]));
    System.out.println("bare Jetty + mock on port " + args[0]);
    server.join();
  }
}
