package gpulenet.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What a run's figures depend on besides the code: CPU model, cores, Java. For info and bench. */
record MachineFacts(String cpuModel, int cores, String javaVersion, String javaVm, String os) {

    static MachineFacts current() {
        return new MachineFacts(cpuModel(Path.of("/proc/cpuinfo")), Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"),
                System.getProperty("java.vm.name") + " (" + System.getProperty("java.vendor") + ")",
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
    }

    /** The first "model name" of a /proc/cpuinfo file, or "unknown" where there is none (not Linux, other CPUs). */
    static String cpuModel(Path cpuinfo) {
        try {
            List<String> lines = Files.readAllLines(cpuinfo);
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals("model name")) {
                    return line.substring(colon + 1).trim();
                }
            }
        } catch (IOException e) {
            // no /proc here: the model is simply unknown
        }
        return "unknown";
    }
}
