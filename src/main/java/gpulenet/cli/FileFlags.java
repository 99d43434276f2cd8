package gpulenet.cli;

import gpulenet.data.DataSets;
import gpulenet.io.AppendFile;
import gpulenet.io.AtomicFile;
import gpulenet.io.Directories;
import gpulenet.io.FileIdentity;
import gpulenet.io.InputException;
import gpulenet.io.IoReasons;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The pre-flight check of every file flag of a command, before any data is loaded or any work is done: each
 * output must be writable where it is, and no output may be a file the command reads or another output (the
 * files are compared as {@link FileIdentity} resolves them, so a symlink, ".." or a hard link is no way round).
 * Each command lists its flags here, so the rules are the same for all of them.
 */
final class FileFlags {
    /** How an output is written, which decides what must be checked. */
    private enum Kind {
        /** Replaced whole ({@link AtomicFile}): its directory must be writable. */
        REPLACED,
        /** Written in place as the run goes, by one writer ({@link AppendFile}): the file itself must be writable. */
        APPENDED,
        /** A directory a new file is created in. */
        DIRECTORY
    }

    /** @param replaces the input flags this output may name too (read whole before it is replaced) */
    private record Flagged(String flag, Path path, Kind kind, List<String> replaces) {
    }

    private final CommandSpec spec;
    private final List<Flagged> inputs = new ArrayList<>();
    private final List<Flagged> outputs = new ArrayList<>();

    /** @param spec the command, for the flags' text as typed (a trailing '/' that a Path drops); may be null */
    FileFlags(CommandSpec spec) {
        this.spec = spec;
    }

    /** A file the command reads; nothing when {@code path} is null (the flag was not given). */
    FileFlags reads(String flag, Path path) {
        if (path != null) {
            inputs.add(new Flagged(flag, path, null, List.of()));
        }
        return this;
    }

    /** The files of the IDX data set in {@code dir}; nothing when it is null (the jar's MNIST). */
    FileFlags readsDataSet(String flag, Path dir) {
        if (dir != null) {
            DataSets.files(dir).forEach(f -> reads(flag, f));
        }
        return this;
    }

    /** A file written whole, atomically, replacing what was there. */
    FileFlags writes(String flag, Path path) {
        return output(flag, path, Kind.REPLACED, List.of());
    }

    /**
     * As {@link #writes}, but it may be the file one of {@code inputFlags} names: a checkpoint is read whole
     * before any work and replaced atomically, so continuing a run into its own file loses nothing.
     */
    FileFlags updates(String flag, Path path, String... inputFlags) {
        return output(flag, path, Kind.REPLACED, List.of(inputFlags));
    }

    /** A file written in place as the run goes, locked while it is. */
    FileFlags appends(String flag, Path path) {
        return output(flag, path, Kind.APPENDED, List.of());
    }

    /** A directory a new file is written into, created if missing. */
    FileFlags writesInto(String flag, Path dir) {
        return output(flag, dir, Kind.DIRECTORY, List.of());
    }

    private FileFlags output(String flag, Path path, Kind kind, List<String> replaces) {
        if (path != null) {
            outputs.add(new Flagged(flag, path, kind, replaces));
        }
        return this;
    }

    /** Refuses, in one line naming the flags, an output that clashes with an input or another output or cannot be written. */
    void check() {
        List<FileIdentity> in = inputs.stream().map(f -> FileIdentity.of(f.path())).toList();
        List<FileIdentity> out = new ArrayList<>();
        for (Flagged o : outputs) {
            requireFileName(o);
            FileIdentity id = FileIdentity.of(o.path());
            for (int i = 0; i < in.size(); i++) {
                Flagged f = inputs.get(i);
                if (!o.replaces().contains(f.flag()) && id.sameFile(in.get(i))) {
                    throw new InputException(o.flag() + " " + o.path() + " is the same file as " + f.flag() + " "
                            + f.path() + ", which this run reads: give another file");
                }
            }
            for (int i = 0; i < out.size(); i++) {
                if (id.sameFile(out.get(i))) {
                    Flagged f = outputs.get(i);
                    throw new InputException(o.flag() + " " + o.path() + " is the same file as " + f.flag() + " "
                            + f.path() + ": give each output its own file");
                }
            }
            out.add(id);
        }
        for (Flagged o : outputs) {
            requireWritable(o);
        }
    }

    /**
     * A file output typed with a trailing '/' names a directory: a Path drops the slash, and the file would be
     * written as the directory's name.
     */
    private void requireFileName(Flagged o) {
        if (o.kind() == Kind.DIRECTORY || spec == null) {
            return;
        }
        OptionSpec option = spec.findOption(o.flag());
        if (option == null) {
            return;
        }
        for (String typed : option.originalStringValues()) {
            if (typed.endsWith("/")) {
                throw new InputException(o.flag() + " " + typed + ": names a directory; give a file name, e.g. " + typed
                        + exampleName(o.flag()));
            }
        }
    }

    private static String exampleName(String flag) {
        return switch (flag) {
            case "--save" -> "model.safetensors";
            case "--onnx" -> "model.onnx";
            case "--metrics" -> "metrics.jsonl";
            case "--json" -> "bench.json";
            default -> flag.substring(2) + ".png";
        };
    }

    private static void requireWritable(Flagged o) {
        try {
            switch (o.kind()) {
                case REPLACED -> AtomicFile.checkWritable(o.path());
                case APPENDED -> AppendFile.checkWritable(o.path());
                case DIRECTORY -> Directories.checkWritable(o.path());
            }
        } catch (IOException e) {
            throw new InputException(o.flag() + " " + o.path() + ": cannot write: " + IoReasons.reason(e), e);
        }
    }
}
