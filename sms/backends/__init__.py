"""SMS backends: each module exports a class named SmsBackend."""
