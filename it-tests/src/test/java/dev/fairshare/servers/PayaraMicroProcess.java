package dev.fairshare.servers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Payara Micro 6 with both WARs deployed from the command line. */
final class PayaraMicroProcess extends ServerProcess {

  private final Path jar;

  PayaraMicroProcess(Path jar, Path work) throws IOException {
    super(work);
    this.jar = jar;
  }

  @Override
  void deploy(Path adminWar, Path sampleWar) throws IOException {
    // The context root is the file name.
    copy(adminWar, work.resolve("deploy/fairshare-admin.war"));
    copy(sampleWar, work.resolve("deploy/sample.war"));
    for (Path war : extraWars()) {
      copy(war, work.resolve("deploy").resolve(war.getFileName()));
    }
  }

  @Override
  List<String> command(Map<String, String> systemProperties) {
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx768m"));
    command.addAll(systemArgs(systemProperties));
    command.addAll(
        List.of(
            "-jar",
            jar.toString(),
            "--nocluster",
            "--nohazelcast",
            "--port",
            Integer.toString(port),
            "--rootDir",
            work.resolve("root").toString(),
            "--deploy",
            work.resolve("deploy/fairshare-admin.war").toString(),
            "--deploy",
            work.resolve("deploy/sample.war").toString()));
    for (Path war : extraWars()) {
      command.addAll(
          List.of("--deploy", work.resolve("deploy").resolve(war.getFileName()).toString()));
    }
    return command;
  }
}
