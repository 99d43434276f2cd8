package gpulenet.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest (Implementation-Version), or "dev" when run from classes. */
final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = App.class.getPackage().getImplementationVersion();
        return new String[]{"gpu-lenet " + (v != null ? v : "dev") + ", Java " + System.getProperty("java.version")};
    }
}
