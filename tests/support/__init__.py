"""Test support shared by every test package: keys, settings and real servers on 127.0.0.1."""
